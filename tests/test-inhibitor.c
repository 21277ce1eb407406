/* test-inhibitor.c
 *
 * SlInhibitor against a desktop portal: a real service on a private bus (GTestDBus) that
 * implements org.freedesktop.portal.Inhibit and its request objects, and records what it is
 * asked.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sl-inhibitor.h"
#include "sl-test-utils.h"

#define WAIT_MS 10000
#define REQUEST_PATH "/org/freedesktop/portal/desktop/request/1_1/t"

static const char portal_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.portal.Inhibit'>"
  "    <method name='Inhibit'>"
  "      <arg type='s' name='window' direction='in'/>"
  "      <arg type='u' name='flags' direction='in'/>"
  "      <arg type='a{sv}' name='options' direction='in'/>"
  "      <arg type='o' name='handle' direction='out'/>"
  "    </method>"
  "  </interface>"
  "  <interface name='org.freedesktop.portal.Request'>"
  "    <method name='Close'/>"
  "  </interface>"
  "</node>";

typedef struct
{
  GTestDBus       *bus;
  GDBusConnection *connection;
  GDBusNodeInfo   *info;
  guint            portal_id;
  guint            request_id;
  guint            owner_id;
  gboolean         owned;

  guint            inhibits;
  guint            closes;
  guint32          flags;
  char            *reason;
} Fixture;

static void
on_method_call (GDBusConnection       *connection,
                const char            *sender,
                const char            *path,
                const char            *interface,
                const char            *method,
                GVariant              *parameters,
                GDBusMethodInvocation *invocation,
                gpointer               user_data)
{
  Fixture *f = user_data;

  if (g_str_equal (method, "Inhibit"))
    {
      g_autoptr (GVariant) options = NULL;

      g_variant_get (parameters, "(&su@a{sv})", NULL, &f->flags, &options);
      g_clear_pointer (&f->reason, g_free);
      g_variant_lookup (options, "reason", "s", &f->reason);
      f->inhibits++;
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(o)", REQUEST_PATH));
    }
  else
    {
      f->closes++;
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
}

static const GDBusInterfaceVTable vtable = { on_method_call, NULL, NULL, { 0 } };

static void
on_name_acquired (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  ((Fixture *) user_data)->owned = TRUE;
}

static gboolean
owned (gpointer data)
{
  return ((Fixture *) data)->owned;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  with_portal)
{
  g_autoptr (GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (f->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);

  if (!GPOINTER_TO_INT (with_portal))
    return;

  f->info = g_dbus_node_info_new_for_xml (portal_xml, &error);
  g_assert_no_error (error);
  f->portal_id = g_dbus_connection_register_object (f->connection,
                                                    "/org/freedesktop/portal/desktop",
                                                    f->info->interfaces[0], &vtable, f, NULL,
                                                    &error);
  g_assert_no_error (error);
  f->request_id = g_dbus_connection_register_object (f->connection, REQUEST_PATH,
                                                     f->info->interfaces[1], &vtable, f, NULL,
                                                     &error);
  g_assert_no_error (error);
  f->owner_id = g_bus_own_name_on_connection (f->connection, "org.freedesktop.portal.Desktop",
                                              G_BUS_NAME_OWNER_FLAGS_NONE, on_name_acquired,
                                              NULL, f, NULL);
  sl_test_wait_until (NULL, owned, f, WAIT_MS);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  with_portal)
{
  if (f->owner_id != 0)
    g_bus_unown_name (f->owner_id);
  if (f->portal_id != 0)
    g_dbus_connection_unregister_object (f->connection, f->portal_id);
  if (f->request_id != 0)
    g_dbus_connection_unregister_object (f->connection, f->request_id);
  g_clear_pointer (&f->info, g_dbus_node_info_unref);
  g_dbus_connection_close_sync (f->connection, NULL, NULL);
  g_clear_object (&f->connection);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
  g_free (f->reason);
}

typedef struct
{
  guint *counter;
  guint  target;
} Count;

static gboolean
count_reached (gpointer data)
{
  Count *count = data;

  return *count->counter >= count->target;
}

static gboolean
is_held (gpointer data)
{
  return sl_inhibitor_get_held (data);
}

static void
test_portal (Fixture       *f,
             gconstpointer  data)
{
  SlInhibitor *inhibitor = sl_inhibitor_new (f->connection);
  Count inhibited = { &f->inhibits, 1 };
  Count closed = { &f->closes, 1 };

  g_assert_false (sl_inhibitor_get_held (inhibitor));
  sl_inhibitor_set_active (inhibitor, TRUE);
  sl_test_wait_until (NULL, count_reached, &inhibited, WAIT_MS);
  sl_test_wait_until (NULL, is_held, inhibitor, WAIT_MS);

  /* Logout (1) and suspend (4), with a reason people can read. */
  g_assert_cmpuint (f->flags, ==, 1 | 4);
  g_assert_nonnull (f->reason);
  g_assert_cmpstr (f->reason, !=, "");

  /* Asking again while held takes nothing more. */
  sl_inhibitor_set_active (inhibitor, TRUE);
  sl_inhibitor_set_active (inhibitor, FALSE);
  g_assert_false (sl_inhibitor_get_held (inhibitor));
  sl_test_wait_until (NULL, count_reached, &closed, WAIT_MS);
  g_assert_cmpuint (f->inhibits, ==, 1);

  g_assert_finalize_object (inhibitor);
}

static void
test_changed_mind (Fixture       *f,
                   gconstpointer  data)
{
  SlInhibitor *inhibitor = sl_inhibitor_new (f->connection);
  Count inhibited = { &f->inhibits, 1 };
  Count closed = { &f->closes, 1 };

  /* Released before the portal answered: what arrives is given back at once. */
  sl_inhibitor_set_active (inhibitor, TRUE);
  sl_inhibitor_set_active (inhibitor, FALSE);
  sl_test_wait_until (NULL, count_reached, &inhibited, WAIT_MS);
  sl_test_wait_until (NULL, count_reached, &closed, WAIT_MS);
  g_assert_false (sl_inhibitor_get_held (inhibitor));

  g_assert_finalize_object (inhibitor);
}

static gboolean
stays_unheld (SlInhibitor *inhibitor)
{
  gint64 end = g_get_monotonic_time () + 300 * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      if (sl_inhibitor_get_held (inhibitor))
        return FALSE;
      g_usleep (5000);
    }
  return TRUE;
}

static void
test_no_portal (Fixture       *f,
                gconstpointer  data)
{
  SlInhibitor *inhibitor = sl_inhibitor_new (f->connection);

  /* Nobody to ask on the session bus: downloads carry on, nothing breaks. (Where a system bus
   * with logind exists, it may hold off sleep instead; then it is released.) */
  sl_inhibitor_set_active (inhibitor, TRUE);
  if (!stays_unheld (inhibitor))
    g_test_message ("logind took the inhibitor");
  sl_inhibitor_set_active (inhibitor, FALSE);
  g_assert_false (sl_inhibitor_get_held (inhibitor));

  g_assert_finalize_object (inhibitor);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/inhibitor/portal", Fixture, GINT_TO_POINTER (TRUE), fixture_setup,
              test_portal, fixture_teardown);
  g_test_add ("/inhibitor/changed-mind", Fixture, GINT_TO_POINTER (TRUE), fixture_setup,
              test_changed_mind, fixture_teardown);
  g_test_add ("/inhibitor/no-portal", Fixture, GINT_TO_POINTER (FALSE), fixture_setup,
              test_no_portal, fixture_teardown);

  return g_test_run ();
}
