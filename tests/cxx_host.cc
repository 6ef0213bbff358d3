// cxx_host.cc — a C++ host: the public headers compile as C++11 (hosts are
// often C++), and one linked against libpolyplug calls through the inline
// pp_call and the exported one alike.
#include <polyplug/polyplug.h>

#include <cstdio>
#include <cstring>

int main()
{
	pp_runtime *rt = nullptr;
	if (pp_runtime_new(nullptr, &rt) != PP_OK)
		return 1;
	pp_guest_contract_instance none = {nullptr, 0};
	int32_t out = 0;
	// No bundle is loaded: both ways report the null handle the same way.
	uint32_t inl = pp_call(rt, pp_handle_null(), none, 0, nullptr, &out, nullptr);
	uint32_t exp = (pp_call)(rt, pp_handle_null(), none, 0, nullptr, &out, nullptr);
	bool same = inl == PP_ERR_STALE_HANDLE && exp == PP_ERR_STALE_HANDLE &&
	            std::strstr(pp_last_error(rt), "null") != nullptr;
	std::printf("%s: %u %u %s\n", same ? "ok" : "FAILED", inl, exp, pp_last_error(rt));
	pp_runtime_free(rt);
	return same ? 0 : 1;
}
