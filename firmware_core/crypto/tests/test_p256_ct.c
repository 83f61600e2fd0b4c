/* test_p256_ct.c - constant-time check of the P-256 signer: runs itself under valgrind
 * (memcheck) with the private key marked undefined, so any branch or memory index that
 * depends on the key or the nonce derived from it is reported and fails the test.
 * The signer is built with P256_DECLASSIFY mapped to VALGRIND_MAKE_MEM_DEFINED (crypto.mk).
 * A control run with a deliberate key-dependent branch shows the check does catch one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <valgrind/memcheck.h>

#include "p256.h"
#include "sha256.h"

/* Sign a few messages with a few keys marked undefined; leak = 1 adds a key-dependent
 * branch of our own. Returns the exit status for the valgrind run. */
static int run_signer_with_secret_key(int leak)
{
    uint8_t priv[32], pub[64], hash[32], sig[64], k[32];
    volatile int sink = 0;
    int status = 0;

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 32; i++)
            priv[i] = (uint8_t)(0x11 * (round + 1) + 7 * i);
        priv[0] &= 0x7f; /* below n */
        sha256((const uint8_t *)"cellbench", 9 + (size_t)round, hash);

        VALGRIND_MAKE_MEM_UNDEFINED(priv, sizeof priv);
        if (leak && (priv[5] & 1))
            sink++;
        status |= p256_ecdsa_sign(priv, hash, sig) != P256_OK;
        status |= p256_public_key(priv, pub) != P256_OK;
        status |= p256_rfc6979_nonce(priv, hash, k) != P256_OK;
        /* the public results are published: mark them defined to use them */
        VALGRIND_MAKE_MEM_DEFINED(pub, sizeof pub);
        VALGRIND_MAKE_MEM_DEFINED(k, sizeof k);
        /* the signature must already be defined (declassified by the signer) */
        if (VALGRIND_CHECK_MEM_IS_DEFINED(sig, sizeof sig) != 0)
            status = 1;
    }
    (void)sink;
    return status;
}

static int valgrind_installed(void)
{
    return system("command -v valgrind >/dev/null 2>&1") == 0;
}

/* run this program under memcheck in child mode; returns its exit status */
static int run_under_valgrind(const char *mode, const char *redirect)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "valgrind -q --error-exitcode=1 --track-origins=yes /proc/%d/exe %s %s",
             (int)getpid(), mode, redirect);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_signer_has_no_secret_dependent_branch(void **state)
{
    (void)state;
    if (!valgrind_installed())
        skip(); /* valgrind missing: the check cannot run here */
    assert_int_equal(run_under_valgrind("--child", ""), 0);
}

static void test_check_catches_a_secret_dependent_branch(void **state)
{
    (void)state;
    if (!valgrind_installed())
        skip();
    assert_int_equal(run_under_valgrind("--child-leaky", "2>/dev/null"), 1);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--child") == 0)
        return run_signer_with_secret_key(0);
    if (argc == 2 && strcmp(argv[1], "--child-leaky") == 0)
        return run_signer_with_secret_key(1);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signer_has_no_secret_dependent_branch),
        cmocka_unit_test(test_check_catches_a_secret_dependent_branch),
    };
    return cmocka_run_group_tests_name("p256_ct", tests, NULL, NULL);
}
