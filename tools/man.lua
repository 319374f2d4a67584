-- make install: a tool's man page (troff, section 8) from its -h text, read
-- on stdin; arg[1] is the installed command's name.
local name = assert(arg[1], "usage: man.lua NAME < help-text")
local help = io.read("a")
local usage, rest = help:match("^Usage: (.-)\n\n(.*)$")
local summary, body = rest:match("^(.-)\n\n(.*)$")

local function escape(s)
  return (s:gsub("\\", "\\e"):gsub("\n%.", "\n\\&."):gsub("^%.", "\\&."):gsub("%-", "\\-"))
end

local out = {
  (".TH %s 8 \"\" \"luabpf\" \"luabpf tools\""):format(name:upper()),
  ".SH NAME", ("%s \\- %s"):format(name, escape(summary)),
  ".SH SYNOPSIS", ".nf", escape(name .. usage:gsub("^%S+", "")), ".fi",
  ".SH DESCRIPTION", escape(summary),
  ("Run as root: it loads BPF programs into the running kernel, compiled by luabpf."),
  ".SH OPTIONS", ".nf", escape((body:gsub("\nexamples:.*$", ""):gsub("^Options:\n", ""))), ".fi",
}
local examples = body:match("\nexamples:\n(.*)$")
if examples then
  out[#out + 1] = ".SH EXAMPLES"
  out[#out + 1] = ".nf"
  out[#out + 1] = escape((examples:gsub("\n$", "")))
  out[#out + 1] = ".fi"
end
out[#out + 1] = ".SH SEE ALSO"
out[#out + 1] = "luabpf(1)"
io.write(table.concat(out, "\n"), "\n")
