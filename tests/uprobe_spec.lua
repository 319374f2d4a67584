-- Uprobes and uretprobes on a function of a binary the Makefile builds.
local bpf = require "bpf"
local h = require "helper"

local target = h.fixture("uprobe_target")

local SRC = h.hash_u32_u64("calls") .. h.hash_u32_u64("last_ret") .. [[
SEC("uprobe")
int BPF_UPROBE(on_add, int a, int b)
{
	u32 key = 0;
	u64 one = 1, *v = bpf_map_lookup_elem(&calls, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&calls, &key, &one, BPF_NOEXIST);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(on_add_ret, int ret)
{
	u32 key = 0;
	u64 value = ret;
	bpf_map_update_elem(&last_ret, &key, &value, BPF_ANY);
	return 0;
}
]]

describe("uprobe", function()
  local elf = bpf.compile(SRC)

  it("counts the exact number of calls and sees the return value", function()
    local b <close> = bpf.new(elf)
    b:attach_uprobe { path = target, sym = "lbpf_target_add", fn = "on_add" }
    b:attach_uprobe { path = target, sym = "lbpf_target_add", fn = "on_add_ret", ret = true }
    local out, code = h.run(target .. " 37")
    assert.are.equal(0, code)
    assert.are.equal("1036\n", out)
    assert.are.equal(37, b.maps.calls[0])
    assert.are.equal(1036, b.maps.last_ret[0])
  end)

  it("only fires for the pid it was attached to", function()
    local b <close> = bpf.new(elf)
    b:attach_uprobe { path = target, sym = "lbpf_target_add", fn = "on_add", pid = 1 }
    h.run(target .. " 5")
    assert.is_nil(b.maps.calls[0])
  end)

  it("detaches when its link is detached", function()
    local b <close> = bpf.new(elf)
    local link = b:attach_uprobe { path = target, sym = "lbpf_target_add", fn = "on_add" }
    h.run(target .. " 3")
    link:detach()
    h.run(target .. " 3")
    assert.are.equal(3, b.maps.calls[0])
  end)
end)
