-- bpf.flamegraph: stacks as the folded format ("a;b;c 12", outermost frame
-- first) that flame graph tools read, and as an interactive SVG flame graph
-- (hover for a frame's samples, click to zoom, the way the classic
-- flamegraph.pl's pictures work), written here in Lua.
local M = {}

-- folded{{frames = {"main", "f", "g"}, count = 12}, ...}: the lines, sorted.
function M.folded(stacks)
  local merged = {}
  for _, s in ipairs(stacks) do
    local key = table.concat(s.frames, ";")
    merged[key] = (merged[key] or 0) + s.count
  end
  local lines = {}
  for key, n in pairs(merged) do lines[#lines + 1] = ("%s %d"):format(key, n) end
  table.sort(lines)
  return lines
end

local function escape(s)
  return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

-- The tree of frames: each node {name=, count=, children = {name -> node}}.
local function tree(stacks)
  local root = { name = "all", count = 0, children = {} }
  for _, s in ipairs(stacks) do
    root.count = root.count + s.count
    local node = root
    for _, f in ipairs(s.frames) do
      local child = node.children[f]
      if not child then
        child = { name = f, count = 0, children = {} }
        node.children[f] = child
      end
      child.count = child.count + s.count
      node = child
    end
  end
  return root
end

-- A warm colour from the name, stable from run to run.
local function colour(name)
  local h = 0
  for i = 1, #name do h = (h * 31 + name:byte(i)) % 1000003 end
  return ("rgb(%d,%d,%d)"):format(205 + h % 50, 80 + (h // 50) % 130, 40 + (h // 6500) % 50)
end

local SCRIPT = [==[
<script type="text/ecmascript"><![CDATA[
var frames = document.querySelectorAll("g.f");
function zoom(target) {
  var x0 = +target.getAttribute("data-x"), w0 = +target.getAttribute("data-w"), y0 = +target.getAttribute("data-y");
  frames.forEach(function (g) {
    var x = +g.getAttribute("data-x"), w = +g.getAttribute("data-w"), y = +g.getAttribute("data-y");
    var inside = x >= x0 - 1e-9 && x + w <= x0 + w0 + 1e-9 && y >= y0;
    var above = y < y0 && x <= x0 + 1e-9 && x + w >= x0 + w0 - 1e-9;
    g.style.display = inside || above ? "" : "none";
    if (!inside && !above) return;
    var nx = inside ? (x - x0) / w0 : 0, nw = inside ? w / w0 : 1;
    var r = g.querySelector("rect"), t = g.querySelector("text");
    r.setAttribute("x", 10 + nx * WIDTH); r.setAttribute("width", Math.max(nw * WIDTH - 0.5, 0));
    t.setAttribute("x", 13 + nx * WIDTH);
    var chars = Math.floor((nw * WIDTH - 6) / 7), name = g.getAttribute("data-name");
    t.textContent = chars < 3 ? "" : (name.length > chars ? name.slice(0, chars - 2) + ".." : name);
  });
}
frames.forEach(function (g) { g.addEventListener("click", function () { zoom(g); }); });
document.getElementById("reset").addEventListener("click", function () { zoom(frames[0]); });
]]>
</script>
]==]

-- svg(stacks, {title=}): the flame graph, the root frame at the bottom.
function M.svg(stacks, opts)
  opts = opts or {}
  local width, row = 1200, 16
  local root = tree(stacks)
  local frames, depth = {}, 0
  local function walk(node, x, level)
    depth = math.max(depth, level)
    frames[#frames + 1] = { name = node.name, count = node.count, x = x, w = node.count / root.count, y = level }
    local names = {}
    for name in pairs(node.children) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local child = node.children[name]
      walk(child, x, level + 1)
      x = x + child.count / root.count
    end
  end
  if root.count > 0 then walk(root, 0, 0) end
  local height = (depth + 1) * row + 60
  local out = {
    ('<?xml version="1.0" standalone="no"?>\n<svg version="1.1" width="%d" height="%d" '
      .. 'xmlns="http://www.w3.org/2000/svg" font-family="Verdana" font-size="12">'):format(width + 20, height),
    '<rect width="100%" height="100%" fill="rgb(250,250,240)"/>',
    ('<text x="%d" y="24" text-anchor="middle" font-size="17">%s</text>'):format(width // 2 + 10,
      escape(opts.title or "Flame Graph")),
    '<text id="reset" x="10" y="24" style="cursor:pointer">Reset zoom</text>',
  }
  for _, f in ipairs(frames) do
    local px, pw = 10 + f.x * width, f.w * width
    local y = height - 20 - (f.y + 1) * row
    local chars = math.floor((pw - 6) / 7)
    local label = chars < 3 and "" or (#f.name > chars and f.name:sub(1, chars - 2) .. ".." or f.name)
    out[#out + 1] = ('<g class="f" data-name="%s" data-x="%.9f" data-w="%.9f" data-y="%d" style="cursor:pointer">'
      .. '<title>%s (%d samples, %.2f%%)</title><rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" rx="2"/>'
      .. '<text x="%.1f" y="%d">%s</text></g>'):format(escape(f.name), f.x, f.w, f.y, escape(f.name), f.count,
      100 * f.count / root.count, px, y, math.max(pw - 0.5, 0), row - 1, colour(f.name), px + 3, y + row - 4,
      escape(label))
  end
  out[#out + 1] = (SCRIPT:gsub("WIDTH", tostring(width)))
  out[#out + 1] = "</svg>\n"
  return table.concat(out, "\n")
end

return M
