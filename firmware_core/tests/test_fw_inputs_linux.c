/*
 * test_fw_inputs_linux.c - the Linux port's driver and camera inputs: lines
 * appended to the inputs file are read once, in order, as the file grows (a
 * half-written line waits for its end); reports carry their picture as the
 * latest frame, "frame" lines change it without a report; relative picture
 * names resolve against the inputs file's directory; invalid lines are
 * skipped; a missing picture cannot be captured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fw_inputs_linux.h"
#include "fw_port_linux.h"

static char dir[64];

static void write_file(const char *name, const char *mode, const char *text)
{
    size_t len = strlen(text);
    char path[160];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, mode);
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void test_inputs_file(void **state)
{
    struct fw_linux_port p;
    struct fw_linux_inputs in;
    enum fw_driver_behaviour b = FW_DRIVER_PHONE;
    char path[160];
    uint8_t buf[16];
    uint32_t size = 0;
    strcpy(dir, "/tmp/fwinputs-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/inputs", dir);
    write_file("a.pgm", "w", "P5 picture A");
    write_file("b.pgm", "w", "BBBB");
    memset(&p, 0, sizeof(p));
    assert_int_equal(fw_linux_inputs_open(&in, path), 0); /* created empty */
    fw_linux_port_use_inputs(&p, &in);
    assert_int_equal(p.port.driver_event(&p, &b), 0);
    assert_int_not_equal(p.port.camera_capture(&p, &size), 0); /* no frame yet */
    write_file("inputs", "a", "# a comment\n\ndrowsy a.p");
    assert_int_equal(p.port.driver_event(&p, &b), 0); /* half a line waits */
    write_file("inputs", "a", "gm\nsing b.pgm\nframe b.pgm\nphone missing.pgm\n");
    assert_int_equal(p.port.driver_event(&p, &b), 1);
    assert_int_equal(b, FW_DRIVER_DROWSY);
    assert_int_equal(p.port.camera_capture(&p, &size), 0);
    assert_int_equal(size, 12);
    assert_int_equal(p.port.camera_read(&p, 3, buf, 7), 7);
    assert_memory_equal(buf, "picture", 7);
    assert_int_equal(p.port.camera_read(&p, 12, buf, 7), 0);
    /* "sing b.pgm" is invalid; "frame b.pgm" changes the frame, then a
     * report whose picture does not exist */
    assert_int_equal(p.port.driver_event(&p, &b), 1);
    assert_int_equal(b, FW_DRIVER_PHONE);
    assert_int_equal(in.invalid, 1);
    assert_int_not_equal(p.port.camera_capture(&p, &size), 0);
    write_file("inputs", "a", "frame b.pgm\n");
    assert_int_equal(p.port.driver_event(&p, &b), 0);
    assert_int_equal(p.port.camera_capture(&p, &size), 0);
    assert_int_equal(size, 4);
    assert_int_equal(p.port.camera_read(&p, 0, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "BBBB", 4);
    fw_linux_inputs_close(&in);
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inputs_file),
    };
    return cmocka_run_group_tests_name("fw_inputs_linux", tests, NULL, NULL);
}
