/* fusetune_c.h is a C header: this file includes it and is compiled as C99 (with -pedantic) into
 * capi_tests. It calls nothing; binding each function to a pointer of the documented type makes
 * the C compiler check every declaration too. */
#include "fusetune/fusetune_c.h"

int fusetune_header_compiles_as_c(void);

int fusetune_header_compiles_as_c(void) {
  int (*abi_version)(void) = fusetune_abi_version;
  const char* (*version)(void) = fusetune_version;
  const char* (*status_name)(fusetune_status) = fusetune_status_name;
  const char* (*last_error)(void) = fusetune_last_error;
  void (*free_text)(char*) = fusetune_free;
  fusetune_status (*describe)(const char*, char**) = fusetune_describe;
  fusetune_status (*library_open)(const char*, int, fusetune_message_fn, void*,
                                  fusetune_library**) = fusetune_library_open;
  fusetune_status (*library_open_with_flags)(const char*, int, unsigned, fusetune_message_fn, void*,
                                             fusetune_library**) = fusetune_library_open_with_flags;
  void (*library_close)(fusetune_library*) = fusetune_library_close;
  fusetune_status (*library_load)(fusetune_library*, const char*, const char*, double,
                                  fusetune_kernel**) = fusetune_library_load;
  fusetune_status (*library_tune)(fusetune_library*, const char*, const char*, double, int, size_t,
                                  fusetune_progress_fn, void*, char**) = fusetune_library_tune;
  void (*kernel_release)(fusetune_kernel*) = fusetune_kernel_release;
  const char* (*kernel_spec)(const fusetune_kernel*) = fusetune_kernel_spec;
  const char* (*kernel_config)(const fusetune_kernel*) = fusetune_kernel_config;
  int (*kernel_tuned)(const fusetune_kernel*) = fusetune_kernel_tuned;
  fusetune_status (*kernel_prepare)(const fusetune_kernel*, void*) = fusetune_kernel_prepare;
  fusetune_status (*kernel_launch)(const fusetune_kernel*, void*, const void* const*, size_t, void*,
                                   const float*, size_t) = fusetune_kernel_launch;
  fusetune_status ok = FUSETUNE_OK;
  return abi_version && version && status_name && last_error && free_text && describe &&
         library_open && library_open_with_flags && library_close && library_load && library_tune &&
         kernel_release && kernel_spec && kernel_config && kernel_tuned && kernel_prepare &&
         kernel_launch && ok == FUSETUNE_OK && FUSETUNE_OPEN_NO_COMPILE == 1u;
}
