/* libFuzzer harness: BTF codec. The input builds a BTF (ints, pointers,
 * arrays, structs and unions with bitfields, enums, typedefs, floats,
 * forward declarations, dangling and looping references); every type is
 * compiled to a layout, and bytes of it go through decode, encode, decode,
 * encode, which must give the same bytes twice. */
#include <bpf/btf.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct input *in, unsigned bytes)
{
	unsigned v = 0;
	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (unsigned)*in->p << (8 * i);
	return v;
}

static void build(struct btf *btf, struct input *in)
{
	static const unsigned int_sizes[] = {1, 2, 4, 8, 16, 3};
	static const unsigned float_sizes[] = {2, 4, 8, 12, 16};
	unsigned names = 0;
	char name[16];

	for (int ops = 0; in->n && ops < 64; ops++) {
		int count = btf__type_cnt(btf);
		unsigned op = take(in, 1);
		/* References reach one past the end too: a dangling id. */
		unsigned ref = take(in, 1) % (count + 1);
		snprintf(name, sizeof(name), "n%u", names++);
		switch (op % 9) {
		case 0:
			btf__add_int(btf, name, int_sizes[take(in, 1) % 6], take(in, 1) & 7);
			break;
		case 1:
			btf__add_ptr(btf, ref);
			break;
		case 2:
			btf__add_array(btf, 1, ref, take(in, 2) % 300);
			break;
		case 3:
		case 4: {
			unsigned size = take(in, 2) % 512, fields = take(in, 1) % 6;
			int id = op % 9 == 3 ? btf__add_struct(btf, name, size) : btf__add_union(btf, name, size);
			for (unsigned i = 0; id > 0 && i < fields; i++) {
				unsigned field_ref = take(in, 1) % (count + 2), bit_offset = take(in, 2) % 4200;
				unsigned bits = take(in, 1);
				snprintf(name, sizeof(name), "n%u", names++);
				/* Anonymous members are inlined into their parent. */
				btf__add_field(btf, bits & 0x80 ? "" : name, field_ref, bit_offset, bits & 0x40 ? bits % 65 : 0);
			}
			break;
		}
		case 5: {
			int id = btf__add_enum(btf, name, int_sizes[take(in, 1) % 4]);
			for (unsigned i = 0, n = take(in, 1) % 4; id > 0 && i < n; i++) {
				snprintf(name, sizeof(name), "n%u", names++);
				btf__add_enum_value(btf, name, (int)take(in, 4));
			}
			break;
		}
		case 6:
			btf__add_typedef(btf, name, ref);
			break;
		case 7:
			btf__add_float(btf, name, float_sizes[take(in, 1) % 5]);
			break;
		case 8:
			if (op & 0x80)
				btf__add_const(btf, ref);
			else
				btf__add_fwd(btf, name, op & 0x40 ? BTF_FWD_UNION : BTF_FWD_STRUCT);
			break;
		}
	}
}

/* For a finding's report: the layout as the codec sees it. */
static void dump(const struct lbpf_type *t, int indent)
{
	fprintf(stderr, "%*s%s kind %d size %u count %u\n", indent, "", t->name, t->kind, t->size, t->count);
	if (t->elem)
		dump(t->elem, indent + 2);
	for (uint32_t i = 0; i < t->nfields; i++) {
		fprintf(stderr, "%*s.%s at bit %u, %u bits:\n", indent + 2, "", t->fields[i].name,
			t->fields[i].bit_offset, t->fields[i].bit_size);
		dump(t->fields[i].type, indent + 4);
	}
}

static void dump_bytes(const char *what, const uint8_t *p, uint32_t n)
{
	fprintf(stderr, "%s:", what);
	for (uint32_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fputc('\n', stderr);
}

/* Decodes bytes, encodes the value, and once more: the second encode must
 * repeat the first, as a map value read and written back would. */
static int roundtrip(lua_State *L)
{
	const struct lbpf_type *t = lua_touserdata(L, 1);
	const uint8_t *bytes = lua_touserdata(L, 2);
	uint8_t *once = lua_newuserdatauv(L, t->size, 0), *twice = lua_newuserdatauv(L, t->size, 0);

	lbpf_codec_push(L, t, bytes);
	lbpf_codec_encode(L, -1, t, once, "fuzz");
	lbpf_codec_push(L, t, once);
	lbpf_codec_encode(L, -1, t, twice, "fuzz");
	if (memcmp(once, twice, t->size) != 0) {
		dump(t, 0);
		dump_bytes("input", bytes, t->size);
		dump_bytes("once", once, t->size);
		dump_bytes("twice", twice, t->size);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	struct input in = {data, size};
	struct lbpf_err err;

	if (!L)
		L = luaL_newstate();
	struct btf *btf = btf__new_empty();
	if (!btf)
		return 0;
	build(btf, &in);
	for (int id = 1; id < (int)btf__type_cnt(btf); id++) {
		memset(&err, 0, sizeof(err));
		struct lbpf_layout *layout = lbpf_layout__new(btf, id, &err);
		if (!layout)
			continue;
		const struct lbpf_type *t = lbpf_layout__root(layout);
		if (t->size <= 1 << 16) {
			uint8_t *bytes = calloc(1, t->size ? t->size : 1);
			for (uint32_t i = 0; i < t->size && in.n; i++)
				bytes[i] = in.p[i % in.n];
			lua_pushcfunction(L, roundtrip);
			lua_pushlightuserdata(L, (void *)t);
			lua_pushlightuserdata(L, bytes);
			if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
				/* A value the codec just decoded must encode again. */
				fprintf(stderr, "type %d (%s): %s\n", id, t->name, lua_tostring(L, -1));
				abort();
			}
			free(bytes);
		}
		lbpf_layout__free(layout);
	}
	btf__free(btf);
	lua_settop(L, 0);
	return 0;
}
