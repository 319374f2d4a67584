/* Bench fixture: a binary with 100 functions, lbpf_f00 ... lbpf_f99, for
 * timing 100 uprobes against one uprobe_multi link. */
#define F(n)                                                                                                   \
	__attribute__((noinline)) int lbpf_f##n(int x)                                                         \
	{                                                                                                      \
		__asm__ volatile("" ::: "memory");                                                             \
		return x + 1;                                                                                  \
	}
#define TEN(d) F(d##0) F(d##1) F(d##2) F(d##3) F(d##4) F(d##5) F(d##6) F(d##7) F(d##8) F(d##9)
TEN(0) TEN(1) TEN(2) TEN(3) TEN(4) TEN(5) TEN(6) TEN(7) TEN(8) TEN(9)

#define C(n) x = lbpf_f##n(x);
#define CALL_TEN(d) C(d##0) C(d##1) C(d##2) C(d##3) C(d##4) C(d##5) C(d##6) C(d##7) C(d##8) C(d##9)

int main(void)
{
	int x = 0;
	CALL_TEN(0) CALL_TEN(1) CALL_TEN(2) CALL_TEN(3) CALL_TEN(4)
	CALL_TEN(5) CALL_TEN(6) CALL_TEN(7) CALL_TEN(8) CALL_TEN(9)
	return x == 100 ? 0 : 1;
}
