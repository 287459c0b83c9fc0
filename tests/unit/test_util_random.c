/* Unit tests of util/random: session and socket ids from the buffered
 * CSPRNG bytes, unique and fork-safe. */
#include "check.h"
#include "util/random.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int id_cmp(const void *a, const void *b) {
    return strcmp(a, b);
}

/* Ids: 20 URL-safe characters, never twice (10,000 drawn across several
 * refills of the buffered CSPRNG bytes), and a forked child does not hand out
 * the ids its parent has buffered: the child's next id differs from the
 * parent's next one. */
static void test_random_ids(void) {
    enum { N = 10000 };
    char(*ids)[21] = calloc(N, sizeof *ids);
    for (int i = 0; i < N; i++) {
        CHECK_INT(util_random_id(ids[i]), 0);
        CHECK_INT(strlen(ids[i]), 20);
        CHECK_INT(
            strspn(ids[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 20);
    }
    qsort(ids, N, sizeof *ids, id_cmp);
    for (int i = 1; i < N; i++) CHECK(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);

    int fd[2];
    CHECK_INT(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char child[21];
        if (util_random_id(child) != 0) _exit(1);
        ssize_t w = write(fd[1], child, sizeof child);
        _exit(w == (ssize_t)sizeof child ? 0 : 1);
    }
    char parent[21], child[21];
    CHECK_INT(util_random_id(parent), 0);
    CHECK_INT(read(fd[0], child, sizeof child), (long)sizeof child);
    int status = 0;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strcmp(parent, child) != 0);
    close(fd[0]);
    close(fd[1]);
}

int main(void) {
    RUN(test_random_ids);
    return CHECK_DONE();
}
