-- Raw tracepoints: a program on sched_process_exec sees a child's exec.
local bpf = require "bpf"
local h = require "helper"

describe("raw tracepoint", function()
  it("sees a child exec /bin/true with its pid and new comm", function()
    local b <close> = bpf.new(h.hash_u32_u64("execs") .. [[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, u32); __type(value, char[16]); } comms SEC(".maps");

SEC("raw_tp")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	u32 pid = BPF_CORE_READ(task, tgid);
	u64 old_pid = ctx->args[1];
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	bpf_map_update_elem(&execs, &pid, &old_pid, BPF_ANY);
	bpf_map_update_elem(&comms, &pid, comm, BPF_ANY);
	return 0;
}
]])
    b:attach_raw_tracepoint("sched_process_exec", "on_exec")
    local out = h.run("sh -c 'echo $$; exec /bin/true'")
    local pid = assert(tonumber(out:match("^(%d+)")), out)
    assert.are.equal(pid, b.maps.execs[pid])
    assert.are.equal("true", (b.maps.comms[pid]:gsub("%z+$", "")))
  end)
end)
