/* bcryptprimitives.dll's ProcessPrng, which Rust's standard library
 * imports on Windows (since 1.78) and Debian 12's Wine (8.0) lacks: the
 * same random bytes through RtlGenRandom, for programs run under Wine
 * only (scripts/test, group windows). */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
    if (!RtlGenRandom(data, n)) return FALSE;
    data += n;
    len -= n;
  }
  return TRUE;
}
