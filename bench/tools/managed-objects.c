/* managed-objects.c: waits for org.sluice.Downloads on the session bus, asks it for
 * GetManagedObjects, and prints the wall-clock time (ns since the epoch) the answer arrived and
 * how many objects it held. Used by daemon-startup.sh, so the measure is not a CLI's printing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gio/gio.h>

int
main (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) objects = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  if (bus == NULL)
    g_error ("%s", error->message);

  /* Bounded: the daemon gets a minute to own its name. */
  while (reply == NULL && g_get_monotonic_time () < deadline)
    {
      g_clear_error (&error);
      reply = g_dbus_connection_call_sync (bus, "org.sluice.Downloads", "/org/sluice/Downloads",
                                           "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects", NULL,
                                           G_VARIANT_TYPE ("(a{oa{sa{sv}}})"),
                                           G_DBUS_CALL_FLAGS_NO_AUTO_START, 60000, NULL, &error);
      if (reply == NULL)
        g_usleep (2000);
    }
  if (reply == NULL)
    g_error ("%s", error->message);

  objects = g_variant_get_child_value (reply, 0);
  g_print ("%" G_GINT64_FORMAT " %" G_GSIZE_FORMAT "\n", g_get_real_time () * 1000,
           g_variant_n_children (objects));
  return 0;
}
