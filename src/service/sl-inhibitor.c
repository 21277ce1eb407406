/* sl-inhibitor.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <unistd.h>

#include <glib/gi18n.h>
#include <gio/gunixfdlist.h>

#include "sl-inhibitor.h"

/* Keeps the session from suspending or logging out while downloads run. The desktop portal
 * covers both (flags logout | suspend); without it, logind can still hold off sleep and
 * shutdown. With neither, downloads carry on unprotected: an inhibitor is a courtesy, not a
 * condition.
 *
 * Taking one is asynchronous, and the wish may change while a request is in flight: the
 * reply compares what it got with what is wanted now, and gives back what is no longer
 * wanted. */

#define PORTAL_NAME       "org.freedesktop.portal.Desktop"
#define PORTAL_PATH       "/org/freedesktop/portal/desktop"
#define PORTAL_INHIBIT    "org.freedesktop.portal.Inhibit"
#define PORTAL_REQUEST    "org.freedesktop.portal.Request"
#define PORTAL_LOGOUT     1
#define PORTAL_SUSPEND    4
#define LOGIND_NAME       "org.freedesktop.login1"
#define LOGIND_PATH       "/org/freedesktop/login1"
#define LOGIND_MANAGER    "org.freedesktop.login1.Manager"

struct _SlInhibitor
{
  GObject          parent_instance;

  GDBusConnection *session_bus;
  GDBusConnection *system_bus;
  GCancellable    *cancellable;

  gboolean         wanted;
  gboolean         pending;
  gboolean         unavailable;   /* neither service answered: stop asking */
  char            *portal_handle;
  int              logind_fd;
};

G_DEFINE_FINAL_TYPE (SlInhibitor, sl_inhibitor, G_TYPE_OBJECT)

static void take (SlInhibitor *self);

static void
release (SlInhibitor *self)
{
  if (self->portal_handle != NULL)
    {
      /* Closing the request object ends the inhibition. */
      g_dbus_connection_call (self->session_bus, PORTAL_NAME, self->portal_handle,
                              PORTAL_REQUEST, "Close", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                              NULL, NULL, NULL);
      g_clear_pointer (&self->portal_handle, g_free);
    }

  if (self->logind_fd >= 0)
    {
      close (self->logind_fd);
      self->logind_fd = -1;
    }
}

/* After a reply: give back what is no longer wanted, or ask again for what now is. */
static void
settle (SlInhibitor *self)
{
  self->pending = FALSE;

  if (!self->wanted)
    release (self);
  else if (self->portal_handle == NULL && self->logind_fd < 0)
    take (self);
}

static void
on_logind_inhibit (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr (SlInhibitor) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (object), &fds,
                                                           result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply != NULL && fds != NULL && g_unix_fd_list_get_length (fds) == 1)
    self->logind_fd = g_unix_fd_list_get (fds, 0, &error);

  if (self->logind_fd < 0)
    {
      g_debug ("No inhibitor: %s", error ? error->message : "logind sent no descriptor");
      self->unavailable = TRUE;
    }

  settle (self);
}

static void
call_logind (SlInhibitor *self)
{
  g_dbus_connection_call_with_unix_fd_list (self->system_bus, LOGIND_NAME, LOGIND_PATH,
                                            LOGIND_MANAGER, "Inhibit",
                                            g_variant_new ("(ssss)", "sleep:shutdown",
                                                           PACKAGE_NAME,
                                                           _("Downloading files"), "block"),
                                            G_VARIANT_TYPE ("(h)"), G_DBUS_CALL_FLAGS_NONE,
                                            -1, NULL, self->cancellable, on_logind_inhibit,
                                            g_object_ref (self));
}

static void
on_system_bus (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (SlInhibitor) self = user_data;
  g_autoptr (GError) error = NULL;

  self->system_bus = g_bus_get_finish (result, &error);
  if (self->system_bus == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("No inhibitor: %s", error->message);
      self->unavailable = TRUE;
      settle (self);
      return;
    }

  call_logind (self);
}

static void
take_from_logind (SlInhibitor *self)
{
  if (self->system_bus != NULL)
    call_logind (self);
  else
    g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, on_system_bus, g_object_ref (self));
}

static void
on_portal_inhibit (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr (SlInhibitor) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (object), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("No portal inhibitor: %s", error->message);
      take_from_logind (self);
      return;
    }

  g_variant_get (reply, "(o)", &self->portal_handle);
  settle (self);
}

static void
take (SlInhibitor *self)
{
  g_auto (GVariantDict) options = G_VARIANT_DICT_INIT (NULL);

  if (self->pending || self->unavailable || self->session_bus == NULL ||
      sl_inhibitor_get_held (self))
    return;

  self->pending = TRUE;
  g_variant_dict_insert (&options, "reason", "s", _("Downloading files"));
  g_dbus_connection_call (self->session_bus, PORTAL_NAME, PORTAL_PATH, PORTAL_INHIBIT,
                          "Inhibit",
                          g_variant_new ("(su@a{sv})", "", PORTAL_LOGOUT | PORTAL_SUSPEND,
                                         g_variant_dict_end (&options)),
                          G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                          on_portal_inhibit, g_object_ref (self));
}

static void
sl_inhibitor_dispose (GObject *object)
{
  SlInhibitor *self = (SlInhibitor *) object;

  g_cancellable_cancel (self->cancellable);
  release (self);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session_bus);
  g_clear_object (&self->system_bus);

  G_OBJECT_CLASS (sl_inhibitor_parent_class)->dispose (object);
}

static void
sl_inhibitor_class_init (SlInhibitorClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sl_inhibitor_dispose;
}

static void
sl_inhibitor_init (SlInhibitor *self)
{
  self->logind_fd = -1;
  self->cancellable = g_cancellable_new ();
}

/**
 * sl_inhibitor_new:
 * @session_bus: (nullable): where the desktop portal lives
 *
 * Returns: (transfer full): an inhibitor that holds nothing yet
 */
SlInhibitor *
sl_inhibitor_new (GDBusConnection *session_bus)
{
  SlInhibitor *self = g_object_new (SL_TYPE_INHIBITOR, NULL);

  g_set_object (&self->session_bus, session_bus);
  return self;
}

/**
 * sl_inhibitor_set_active:
 * @self: an inhibitor
 * @active: whether suspend and logout should wait
 *
 * Takes the inhibitor while @active, and gives it back when not. Failures are only logged.
 */
void
sl_inhibitor_set_active (SlInhibitor *self,
                         gboolean     active)
{
  g_return_if_fail (SL_IS_INHIBITOR (self));

  self->wanted = active;
  if (self->pending)
    return;

  if (active)
    take (self);
  else
    release (self);
}

/**
 * sl_inhibitor_get_held:
 * @self: an inhibitor
 *
 * Returns: whether an inhibitor is held now
 */
gboolean
sl_inhibitor_get_held (SlInhibitor *self)
{
  g_return_val_if_fail (SL_IS_INHIBITOR (self), FALSE);

  return self->portal_handle != NULL || self->logind_fd >= 0;
}
