// cxx_header.cc — the public headers compile as C++ (hosts are often C++),
// the inline call path included; compiled with -fsyntax-only by CTest.
#include <polyplug/polyplug.h>

uint32_t add_through(pp_runtime *rt, pp_guest_contract_handle h, int32_t a, int32_t b)
{
	struct {
		int32_t a, b;
	} args = {a, b};
	int32_t sum = 0;
	pp_guest_contract_instance none = {nullptr, 0};
	uint32_t code = pp_call(rt, h, none, 0, &args, &sum, nullptr);
	return code == PP_OK ? static_cast<uint32_t>(sum) : code;
}
