/* sl-test-utils.h
 *
 * Helpers shared by the tests: files and directories, waiting on a main context, and
 * assertions that say what went wrong.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "sl-download.h"

G_BEGIN_DECLS

/* The daemon's well-known name on the session bus. */
#define SL_TEST_BUS_NAME "org.sluice.Downloads"

char      *sl_test_file_sha256         (const char   *path);
GFile     *sl_test_make_temp_dir       (void);
void       sl_test_rm_rf               (GFile        *dir);
char     **sl_test_list_dir            (GFile        *dir);
void       sl_test_assert_dir_is       (GFile        *dir,
                                        const char  **expected);
void       sl_test_wait_for_state      (SlDownload   *download,
                                        SlDownloadState state);
void       sl_test_assert_file_is_entity (const char *path,
                                        guint32       seed,
                                        gsize         size);

gboolean   sl_test_iterate_until       (GMainContext *context,
                                        gboolean    (*cond) (gpointer data),
                                        gpointer      data,
                                        guint         timeout_ms);
gboolean   sl_test_flag_is_set         (gpointer      flag);

/* What g_subprocess_communicate_utf8_async() gave, once done is set. */
typedef struct
{
  gboolean  done;
  GError   *error;
  char     *out;
  char     *err;
} SlTestCommunication;

void       sl_test_on_communicated     (GObject      *source,
                                        GAsyncResult *result,
                                        gpointer      communication);
void       sl_test_run_for             (guint         ms);
GPid       sl_test_name_owner_pid      (GDBusConnection *connection,
                                        const char   *name);
void       sl_test_stop_name_owner     (GDBusConnection *connection,
                                        const char   *name,
                                        guint         timeout_ms);
void       sl_test_set_cloexec_everywhere (void);
void       sl_test_write_text          (const char   *path,
                                        const char   *text);
void       sl_test_write_service_file  (const char   *path,
                                        const char   *exec);
GTestDBus *sl_test_bus_up              (const char   *services,
                                        GDBusConnection **connection);

char      *_sl_test_describe_status    (guint         status);
char      *_sl_test_describe_bytes     (GBytes       *actual,
                                        GBytes       *expected);

/**
 * sl_test_wait_until:
 * @context: (nullable): the context to iterate, %NULL for the global default one
 * @cond: returns %TRUE once the wait is over; checked before each iteration
 * @data: passed to @cond
 * @timeout_ms: how long to wait at most
 *
 * Iterates @context until @cond holds, and fails the test if it does not within @timeout_ms.
 * @cond is re-checked at least every 10 ms, so it may look at state changed by other threads.
 */
#define sl_test_wait_until(context, cond, data, timeout_ms)                                    \
  G_STMT_START {                                                                               \
    guint _sl_timeout = (timeout_ms);                                                          \
    if (!sl_test_iterate_until ((context), (cond), (data), _sl_timeout))                       \
      {                                                                                        \
        g_autofree char *_sl_message =                                                         \
          g_strdup_printf ("%s did not hold within %u ms", #cond, _sl_timeout);                \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, _sl_message);        \
      }                                                                                        \
  } G_STMT_END

/**
 * sl_assert_status:
 * @status: the HTTP status seen
 * @expected: the HTTP status wanted
 *
 * Like g_assert_cmpuint(), but names both statuses.
 */
#define sl_assert_status(status, expected)                                                     \
  G_STMT_START {                                                                               \
    guint _sl_status = (status);                                                               \
    guint _sl_expected = (expected);                                                           \
    if (_sl_status != _sl_expected)                                                            \
      {                                                                                        \
        g_autofree char *_sl_got = _sl_test_describe_status (_sl_status);                      \
        g_autofree char *_sl_want = _sl_test_describe_status (_sl_expected);                   \
        g_autofree char *_sl_message =                                                         \
          g_strdup_printf ("%s: unexpected status %s (expected %s)", #status, _sl_got, _sl_want); \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, _sl_message);        \
      }                                                                                        \
  } G_STMT_END

/**
 * sl_assert_message_status:
 * @msg: a #SoupMessage that has been sent
 * @expected: the HTTP status wanted
 *
 * Fails with the method, URI, status and reason phrase of @msg when its status is not
 * @expected.
 */
#define sl_assert_message_status(msg, expected)                                                \
  G_STMT_START {                                                                               \
    SoupMessage *_sl_msg = (msg);                                                              \
    guint _sl_expected = (expected);                                                           \
    guint _sl_status = soup_message_get_status (_sl_msg);                                      \
    if (_sl_status != _sl_expected)                                                            \
      {                                                                                        \
        g_autofree char *_sl_uri = g_uri_to_string (soup_message_get_uri (_sl_msg));           \
        g_autofree char *_sl_want = _sl_test_describe_status (_sl_expected);                   \
        g_autofree char *_sl_message =                                                         \
          g_strdup_printf ("%s %s: unexpected status %u %s (expected %s)",                     \
                           soup_message_get_method (_sl_msg), _sl_uri, _sl_status,             \
                           soup_message_get_reason_phrase (_sl_msg)                            \
                             ? soup_message_get_reason_phrase (_sl_msg) : "",                  \
                           _sl_want);                                                          \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, _sl_message);        \
      }                                                                                        \
  } G_STMT_END

/**
 * sl_assert_bytes_equal:
 * @actual: (nullable): a #GBytes
 * @expected: (nullable): a #GBytes
 *
 * Fails with both sizes and the first differing offset, rather than a dump of both.
 */
#define sl_assert_bytes_equal(actual, expected)                                                \
  G_STMT_START {                                                                               \
    g_autofree char *_sl_diff = _sl_test_describe_bytes ((actual), (expected));                \
    if (_sl_diff != NULL)                                                                      \
      {                                                                                        \
        g_autofree char *_sl_message =                                                         \
          g_strdup_printf ("%s != %s: %s", #actual, #expected, _sl_diff);                      \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, _sl_message);        \
      }                                                                                        \
  } G_STMT_END

/* A network monitor whose answer the test decides. */
#define SL_TYPE_TEST_NETWORK_MONITOR (sl_test_network_monitor_get_type ())
G_DECLARE_FINAL_TYPE (SlTestNetworkMonitor, sl_test_network_monitor, SL, TEST_NETWORK_MONITOR,
                      GObject)

SlTestNetworkMonitor *sl_test_network_monitor_new           (gboolean              available);
void                  sl_test_network_monitor_set_available (SlTestNetworkMonitor *self,
                                                             gboolean              available);

G_END_DECLS
