/* A C program built with pkg-config against an installed fusetune (fusetune_c.h): describes a spec,
 * which needs no GPU, then opens the library. Without a GPU it says so and exits 0.
 *   cc describe.c $(pkg-config --cflags --libs fusetune) */
#include <fusetune/fusetune_c.h>
#include <stdio.h>

int main(void) {
  char* description = NULL;
  if (fusetune_describe("linear(m=4, n=8, k=16) -> bias -> relu", &description) != FUSETUNE_OK) {
    fprintf(stderr, "%s\n", fusetune_last_error());
    return 1;
  }
  printf("fusetune %s describes %s\n", fusetune_version(), description);
  fusetune_free(description);

  fusetune_library* library = NULL;
  const fusetune_status status = fusetune_library_open(NULL, 0, NULL, NULL, &library);
  if (status == FUSETUNE_NO_DEVICE) {
    printf("no GPU: %s\n", fusetune_last_error());
    return 0;
  }
  if (status != FUSETUNE_OK) {
    fprintf(stderr, "%s\n", fusetune_last_error());
    return 1;
  }
  printf("a GPU is ready\n");
  fusetune_library_close(library);
  return 0;
}
