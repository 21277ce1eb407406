/* sl-format.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "sl-format.h"
#include "sl-states.h"
#include "sl-uri.h"

static gboolean
is_state (const SlDownloadFacts *facts,
          SlDownloadState        state)
{
  return sl_download_state_is (facts->state, state);
}

/* The reason phrase of a status, as servers send it; protocol words, not translated. */
static const char *
status_phrase (guint status)
{
  static const struct
  {
    guint       status;
    const char *phrase;
  } phrases[] = {
    { 400, "Bad Request" },
    { 401, "Unauthorized" },
    { 402, "Payment Required" },
    { 403, "Forbidden" },
    { 404, "Not Found" },
    { 405, "Method Not Allowed" },
    { 407, "Proxy Authentication Required" },
    { 408, "Request Timeout" },
    { 410, "Gone" },
    { 416, "Range Not Satisfiable" },
    { 429, "Too Many Requests" },
    { 451, "Unavailable For Legal Reasons" },
    { 500, "Internal Server Error" },
    { 501, "Not Implemented" },
    { 502, "Bad Gateway" },
    { 503, "Service Unavailable" },
    { 504, "Gateway Timeout" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (phrases); i++)
    {
      if (phrases[i].status == status)
        return phrases[i].phrase;
    }
  return NULL;
}

/**
 * sl_format_time_left:
 * @seconds: the time left
 *
 * Returns: (transfer full): "17 s left", "3 min left", "2 h 5 min left" and the like
 */
char *
sl_format_time_left (guint64 seconds)
{
  guint64 minutes = (seconds + 30) / 60;
  guint64 hours = minutes / 60;

  if (seconds < 60)
    return g_strdup_printf (ngettext ("%u second left", "%u seconds left", (gulong) seconds),
                            (guint) seconds);
  if (minutes < 60)
    return g_strdup_printf (ngettext ("%u minute left", "%u minutes left", (gulong) minutes),
                            (guint) minutes);
  if (hours < 48)
    {
      g_autofree char *h = g_strdup_printf (ngettext ("%u hour", "%u hours", (gulong) hours),
                                            (guint) hours);
      guint64 rest = minutes % 60;
      g_autofree char *m = NULL;

      if (rest == 0)
        return g_strdup_printf (C_("time left", "%s left"), h);
      m = g_strdup_printf (ngettext ("%u minute", "%u minutes", (gulong) rest), (guint) rest);
      /* Translators: "2 hours 5 minutes left" */
      return g_strdup_printf (C_("time left", "%s %s left"), h, m);
    }

  return g_strdup_printf (ngettext ("%u day left", "%u days left", (gulong) (hours / 24)),
                          (guint) (hours / 24));
}

/* "12.3 MB of 100 MB", or "12.3 MB" when the size is unknown. */
static char *
format_amount (const SlDownloadFacts *facts)
{
  g_autofree char *received = g_format_size (facts->bytes_received);
  g_autofree char *total = NULL;

  if (facts->bytes_total < 0)
    return g_steal_pointer (&received);

  total = g_format_size (facts->bytes_total);
  /* Translators: bytes received "of" the file's size, as in "12.3 MB of 100 MB" */
  return g_strdup_printf (_("%s of %s"), received, total);
}

static SlChecksumState
checksum_state (const SlDownloadFacts *facts)
{
  SlChecksumState state = SL_CHECKSUM_STATE_NONE;

  sl_checksum_state_from_string (facts->checksum_state, &state);
  return state;
}

/**
 * sl_format_rate:
 * @bytes_per_second: a transfer rate
 *
 * Returns: (transfer full): the rate for people, "5.2 MB/s"
 */
char *
sl_format_rate (guint64 bytes_per_second)
{
  g_autofree char *size = g_format_size (bytes_per_second);

  /* Translators: a transfer rate, as in "5.2 MB/s" */
  return g_strdup_printf (_("%s/s"), size);
}

/* What a download that has not ended adds to its status, after a dot: the connections it has
 * open, when more than one, and its own speed limit, "… · 4 connections · limited to 1.0 MB/s".
 * Takes @status. */
static char *
add_details (const SlDownloadFacts *facts,
             char                  *status)
{
  GString *text = g_string_new (status);

  g_free (status);
  if (is_state (facts, SL_DOWNLOAD_STATE_RUNNING) && facts->connections > 1)
    {
      g_string_append (text, " · ");
      g_string_append_printf (text, ngettext ("%u connection", "%u connections",
                                              facts->connections),
                              facts->connections);
    }
  if (facts->speed_limit > 0)
    {
      g_autofree char *rate = sl_format_rate (facts->speed_limit);

      g_string_append (text, " · ");
      /* Translators: a download's own speed limit, as in "limited to 1.0 MB/s" */
      g_string_append_printf (text, _("limited to %s"), rate);
    }

  return g_string_free (text, FALSE);
}

/**
 * sl_format_state_is_under_way:
 * @state: (nullable): a Download1.State
 *
 * Returns: whether a download in @state ends by itself, without anyone doing anything: queued,
 *   running, or waiting for the network or to retry (not paused, not ended)
 */
gboolean
sl_format_state_is_under_way (const char *state)
{
  SlDownloadState value;

  return sl_download_state_from_string (state, &value) && sl_download_state_is_under_way (value);
}

/**
 * sl_format_status:
 * @facts: what is known of the download
 *
 * Returns: (transfer full): one line for people: "12.3 MB of 100 MB — 5.2 MB/s — 17 s left",
 *   "Paused — 12.3 MB of 100 MB", "Failed: server answered 404 Not Found", "Done — 1.2 GB"…;
 *   a download that has not ended adds its connections (when more than one) and its own
 *   speed limit, "… · 4 connections · limited to 1.0 MB/s", and a completed one what its
 *   checksum's check found, "Done — 1.2 GB — Checksum verified"
 */
char *
sl_format_status (const SlDownloadFacts *facts)
{
  g_autofree char *amount = format_amount (facts);

  if (is_state (facts, SL_DOWNLOAD_STATE_RUNNING))
    {
      g_autofree char *speed = NULL;
      g_autofree char *left = NULL;

      if (facts->speed == 0)
        return add_details (facts, g_steal_pointer (&amount));

      speed = sl_format_rate (facts->speed);
      if (facts->bytes_total < 0 || (guint64) facts->bytes_total < facts->bytes_received)
        return add_details (facts, g_strdup_printf ("%s — %s", amount, speed));

      left = sl_format_time_left ((facts->bytes_total - facts->bytes_received + facts->speed - 1) /
                                  facts->speed);
      return add_details (facts, g_strdup_printf ("%s — %s — %s", amount, speed, left));
    }

  if (is_state (facts, SL_DOWNLOAD_STATE_QUEUED))
    {
      if (facts->bytes_received == 0)
        return add_details (facts, g_strdup (_("Queued")));
      /* Translators: a queued download that has some of its bytes, "Queued — 1 MB of 2 MB" */
      return add_details (facts, g_strdup_printf (_("Queued — %s"), amount));
    }

  if (is_state (facts, SL_DOWNLOAD_STATE_WAITING))
    {
      if (sl_error_kind_is (facts->error_kind, SL_ERROR_KIND_NETWORK) && facts->error &&
          *facts->error)
        {
          /* Translators: a download that will retry by itself, with the last error */
          return add_details (facts, g_strdup_printf (_("Waiting to retry: %s"), facts->error));
        }
      return add_details (facts, g_strdup (_("Waiting for network")));
    }

  if (is_state (facts, SL_DOWNLOAD_STATE_PAUSED))
    {
      if (facts->bytes_received == 0)
        return add_details (facts, g_strdup (_("Paused")));
      /* Translators: "Paused — 12.3 MB of 100 MB" */
      return add_details (facts, g_strdup_printf (_("Paused — %s"), amount));
    }

  if (is_state (facts, SL_DOWNLOAD_STATE_COMPLETED))
    {
      g_autofree char *size = g_format_size (facts->bytes_received);
      g_autofree char *done = NULL;

      switch (checksum_state (facts))
        {
        case SL_CHECKSUM_STATE_MISMATCH:
          if (facts->verify_error != NULL && *facts->verify_error != '\0')
            {
              /* Translators: a completed file that Verify found changed, with the reason */
              return g_strdup_printf (_("Checksum does not match: %s"), facts->verify_error);
            }
          return g_strdup (_("Checksum does not match"));

        case SL_CHECKSUM_STATE_PENDING:
          /* Translators: a finished download and its size, "Done — 1.2 GB" */
          done = g_strdup_printf (_("Done — %s"), size);
          /* Translators: the file of a completed download is read again, "Done — 1.2 GB —
           * Checking the checksum…" */
          return g_strdup_printf ("%s — %s", done, _("Checking the checksum…"));

        case SL_CHECKSUM_STATE_VERIFIED:
          done = g_strdup_printf (_("Done — %s"), size);
          /* Translators: "Done — 1.2 GB — Checksum verified" */
          return g_strdup_printf ("%s — %s", done, _("Checksum verified"));

        case SL_CHECKSUM_STATE_NONE:
        default:
          return g_strdup_printf (_("Done — %s"), size);
        }
    }

  if (is_state (facts, SL_DOWNLOAD_STATE_FAILED))
    {
      if (sl_error_kind_is (facts->error_kind, SL_ERROR_KIND_SERVER) && facts->http_status >= 400)
        {
          const char *phrase = status_phrase (facts->http_status);

          if (phrase != NULL)
            {
              /* Translators: "Failed: server answered 404 Not Found" */
              return g_strdup_printf (_("Failed: server answered %u %s"), facts->http_status,
                                      phrase);
            }
          /* Translators: "Failed: server answered 599" */
          return g_strdup_printf (_("Failed: server answered %u"), facts->http_status);
        }
      if (facts->error != NULL && *facts->error != '\0')
        {
          /* Translators: a failed download with the reason */
          return g_strdup_printf (_("Failed: %s"), facts->error);
        }
      return g_strdup (_("Failed"));
    }

  if (is_state (facts, SL_DOWNLOAD_STATE_CANCELED))
    return g_strdup (_("Canceled"));

  return g_strdup (facts->state ? facts->state : "");
}

/**
 * sl_format_status_is_error:
 * @facts: what is known of the download
 *
 * Returns: whether sl_format_status() tells of something wrong that stays until dealt with:
 *   a failed download, or a completed one whose file no longer matches its checksum
 */
gboolean
sl_format_status_is_error (const SlDownloadFacts *facts)
{
  return is_state (facts, SL_DOWNLOAD_STATE_FAILED) ||
         (is_state (facts, SL_DOWNLOAD_STATE_COMPLETED) &&
          checksum_state (facts) == SL_CHECKSUM_STATE_MISMATCH);
}

/**
 * sl_format_fraction:
 * @facts: what is known of the download
 *
 * Returns: how much is done, 0 to 1, or -1 when the size is unknown (a pulsing bar)
 */
double
sl_format_fraction (const SlDownloadFacts *facts)
{
  if (is_state (facts, SL_DOWNLOAD_STATE_COMPLETED))
    return 1.0;
  if (facts->bytes_total <= 0)
    return -1.0;

  return MIN ((double) facts->bytes_received / (double) facts->bytes_total, 1.0);
}

/**
 * sl_format_host:
 * @uri: an address
 *
 * Returns: (transfer full) (nullable): the host of @uri, or %NULL if it has none
 */
char *
sl_format_host (const char *uri)
{
  g_autoptr (GUri) parsed = uri ? g_uri_parse (uri, G_URI_FLAGS_NONE, NULL) : NULL;

  if (parsed == NULL || g_uri_get_host (parsed) == NULL || *g_uri_get_host (parsed) == '\0')
    return NULL;

  return g_strdup (g_uri_get_host (parsed));
}

static GIcon *
icon_for_name (const char *filename)
{
  g_autofree char *type = NULL;
  g_autoptr (GIcon) symbolic = NULL;
  GIcon *themed;

  type = g_content_type_guess (filename, NULL, 0, NULL);
  symbolic = g_content_type_get_symbolic_icon (type);

  /* Only the symbolic names, then a page that every theme has: a theme without a symbolic
   * icon for the type would otherwise draw its full-colour one among the symbolic ones. */
  themed = g_themed_icon_new ("text-x-generic-symbolic");
  if (G_IS_THEMED_ICON (symbolic))
    {
      const char * const *names = g_themed_icon_get_names (G_THEMED_ICON (symbolic));

      for (int i = g_strv_length ((char **) names) - 1; i >= 0; i--)
        {
          if (g_str_has_suffix (names[i], "-symbolic") &&
              !g_str_equal (names[i], "text-x-generic-symbolic"))
            g_themed_icon_prepend_name (G_THEMED_ICON (themed), names[i]);
        }
    }

  return themed;
}

/**
 * sl_format_icon:
 * @filename: (nullable): a file name
 *
 * Returns: (transfer full): a symbolic icon for the file's type, the same for every name
 *   with the same extension
 */
GIcon *
sl_format_icon (const char *filename)
{
  static GHashTable *by_extension;  /* lower-case extension → GIcon; rows ask on every bind */
  const char *dot = filename ? strrchr (filename, '.') : NULL;
  g_autofree char *extension = NULL;
  GIcon *icon;

  if (filename == NULL || *filename == '\0')
    return g_themed_icon_new ("folder-download-symbolic");
  if (dot == NULL || dot == filename || dot[1] == '\0')
    return icon_for_name (filename);

  if (by_extension == NULL)
    by_extension = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  extension = g_utf8_strdown (dot, -1);
  icon = g_hash_table_lookup (by_extension, extension);
  if (icon == NULL)
    {
      icon = icon_for_name (filename);
      g_hash_table_insert (by_extension, g_steal_pointer (&extension), icon);
    }

  return g_object_ref (icon);
}

/* What an entry's buffer holds, in bytes: GTK_ENTRY_BUFFER_MAX_SIZE - 1, spelled out to keep
 * this file free of GTK (sl-add-dialog.c checks that they agree). */
#define SL_FORMAT_ENTRY_MAX_BYTES (G_MAXUSHORT - 1)

G_STATIC_ASSERT (SL_FORMAT_ENTRY_MAX_BYTES < SL_URI_MAX_BYTES);

/**
 * sl_format_parse_typed_url:
 * @text: the text of an entry where an address is typed
 * @error: return location for a sentence that says what is wrong
 *
 * sl_uri_parse_download() for what an entry holds. An entry keeps at most
 * %GTK_ENTRY_BUFFER_MAX_SIZE - 1 bytes and drops the rest of a longer text, so a full one may
 * have been cut: it is refused as too long rather than taken for the address that was given.
 * (The entry holds less than %SL_URI_MAX_BYTES, so nothing else is too long here.)
 *
 * Returns: (transfer full) (nullable): the parsed address
 */
GUri *
sl_format_parse_typed_url (const char  *text,
                           GError     **error)
{
  /* A cut leaves less room than one more character, of up to 4 bytes. */
  if (text != NULL && strlen (text) > SL_FORMAT_ENTRY_MAX_BYTES - 4)
    {
      sl_uri_set_too_long_error (error, text);
      return NULL;
    }

  return sl_uri_parse_download (text, error);
}

/**
 * sl_format_find_urls:
 * @text: pasted or dropped text: a link, a list of links, a paragraph with links in it
 *
 * Returns: (transfer full): the addresses in @text that sl_uri_parse_download() accepts, as
 *   they are written there, in order, without repeats
 */
char **
sl_format_find_urls (const char *text)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto (GStrv) words = NULL;

  if (text == NULL)
    return g_strv_builder_end (builder);

  /* Links are separated by white space (all that g_strstrip() and the address check strip),
   * or by the line breaks of text/uri-list. */
  words = g_strsplit_set (text, " \t\r\n\f\v<>\"'", -1);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autoptr (GUri) uri = NULL;
      char *word = g_strstrip (words[i]);
      gsize length = strlen (word);

      /* Text around a link often puts it in brackets or ends it with punctuation. */
      while (length > 0 && strchr (".,;:!?)]", word[length - 1]) != NULL)
        word[--length] = '\0';
      while (length > 0 && strchr ("([", word[0]) != NULL)
        {
          word++;
          length--;
        }
      /* What goes to the daemon is a D-Bus string, which must be UTF-8. */
      if (length == 0 || word[0] == '#' || !g_utf8_validate (word, length, NULL))
        continue;

      /* Only what the daemon takes: the same rule, not a looser one of the window's own. */
      uri = sl_uri_parse_download (word, NULL);
      if (uri == NULL || g_hash_table_contains (seen, word))
        continue;

      g_hash_table_add (seen, word);
      g_strv_builder_add (builder, word);
    }

  return g_strv_builder_end (builder);
}
