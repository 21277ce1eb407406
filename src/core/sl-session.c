/* sl-session.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "sl-filename.h"
#include "sl-folder-rules.h"
#include "sl-header-rules.h"
#include "sl-states.h"
#include "sl-session.h"
#include "sl-uri.h"

/* SlSession owns every download: it is their list (a GListModel in queue order), their
 * scheduler (at most max-active transfers, at most max-per-host connections to one host, the
 * next queued one starting as another ends), and the bridge to the store, which records every
 * state change and every checkpoint so that the list survives a crash.
 *
 * A host's connections are shared evenly between its active downloads, and a queued download
 * that could start but for its host's connections takes part in the sharing, so that the
 * others make room for it. A host that refused an extra connection gets no more connections
 * than it took then, for HOST_CAP_SECONDS. */

#define DEFAULT_MAX_ACTIVE   3
#define DEFAULT_MAX_PER_HOST 8
#define HOST_CAP_SECONDS     (24 * 60 * 60)
/* The most the limits go: as many connections as the HTTP session allows. */
#define MAX_CONNECTIONS      256
/* The list shows only bytes a restart resumes from, so it moves once per checkpoint. */
#define CHECKPOINT_MS        1000

typedef struct
{
  SlSession     *session;
  SlDownload    *download;
  SlStoreRecord *record;
  char          *host;
  gboolean       interrupted;  /* paused by a shutdown: recorded as running */
} Entry;

/* What a host took when it refused one more connection, until when that holds (unix time,
 * seconds), and the download that found it (compared, never followed). */
typedef struct
{
  guint          connections;
  gint64         until;
  gconstpointer  finder;
} HostCap;

struct _SlSession
{
  GObject      parent_instance;

  SlStore     *store;
  SoupSession *soup_session;
  GFile       *default_directory;

  GPtrArray   *entries;   /* Entry, in queue order */
  GHashTable  *by_download;
  GHashTable  *by_id;

  guint        max_active;
  guint        max_per_host;
  guint        connections;  /* of downloads added without the option, 0: automatic */
  SlRateLimiter *limiter;    /* every download's reads: the global speed limit */
  GHashTable  *host_caps;    /* host → HostCap */
  guint        n_active;
  guint        schedule_source;
  gboolean     shutting_down;

  /* Checkpoints queued in the store and waiting for the next flush to confirm them
   * (Confirmation), and whether a flush is under way. */
  GPtrArray   *unconfirmed;
  gboolean     confirming;
};

typedef struct
{
  SlDownload *download;
  GBytes     *resume_data;
} Confirmation;

static void
confirmation_free (Confirmation *confirmation)
{
  g_object_unref (confirmation->download);
  g_bytes_unref (confirmation->resume_data);
  g_free (confirmation);
}

typedef struct
{
  GWeakRef   session;
  GPtrArray *confirmations;
} Flush;

static void sl_session_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SlSession, sl_session, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      sl_session_list_model_init))

enum {
  PROP_0,
  PROP_MAX_ACTIVE,
  PROP_MAX_PER_HOST,
  PROP_MAX_SPEED,
  PROP_CONNECTIONS,
  PROP_N_ACTIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void queue_schedule (SlSession *self);
static void save_host_caps (SlSession *self);

static gboolean
is_active (SlDownloadState state)
{
  return state == SL_DOWNLOAD_STATE_RUNNING || state == SL_DOWNLOAD_STATE_WAITING;
}

static char *
host_of (const char *uri)
{
  g_autoptr (GUri) parsed = g_uri_parse (uri, SOUP_HTTP_URI_FLAGS, NULL);

  return parsed ? g_ascii_strdown (g_uri_get_host (parsed), -1) : g_strdup ("");
}

static void
entry_free (Entry *entry)
{
  g_signal_handlers_disconnect_by_data (entry->download, entry);
  g_object_unref (entry->download);
  sl_store_record_free (entry->record);
  g_free (entry->host);
  g_free (entry);
}

/* Copies what the download knows into its record and queues the row's update. */
static void
persist (Entry *entry)
{
  SlStoreRecord *record = entry->record;
  SlDownload *download = entry->download;
  SlDownloadState state = sl_download_get_state (download);
  g_autofree char *directory = g_file_get_path (sl_download_get_directory (download));

  g_free (record->uri);
  record->uri = g_strdup (sl_download_get_uri (download));
  g_free (record->directory);
  record->directory = g_steal_pointer (&directory);
  g_free (record->filename);
  record->filename = g_strdup (sl_download_get_filename (download));
  /* What a shutdown paused was running, and runs again at the next start. */
  record->state = entry->interrupted && state == SL_DOWNLOAD_STATE_PAUSED
                    ? SL_DOWNLOAD_STATE_RUNNING : state;
  record->error_kind = sl_download_get_error_kind (download);
  g_free (record->error_message);
  record->error_message = g_strdup (sl_download_get_error_message (download));
  record->http_status = sl_download_get_http_status (download);
  /* The bytes come with each checkpoint, beside the resume data they belong to; a completed
   * download has all of them, a canceled one none. */
  if (state == SL_DOWNLOAD_STATE_COMPLETED || state == SL_DOWNLOAD_STATE_CANCELED)
    record->bytes_received = sl_download_get_bytes_recorded (download);
  record->bytes_total = sl_download_get_bytes_total (download);
  if (sl_download_state_is_finished (state) && record->finished_at == 0)
    record->finished_at = g_get_real_time () / G_USEC_PER_SEC;
  else if (!sl_download_state_is_finished (state))
    record->finished_at = 0;

  /* A finished download has nothing left to resume; a paused or failed one keeps the data its
   * last checkpoint gave. */
  if (state == SL_DOWNLOAD_STATE_COMPLETED || state == SL_DOWNLOAD_STATE_CANCELED)
    g_clear_pointer (&record->resume_data, g_bytes_unref);

  if (entry->session->store != NULL)
    sl_store_update (entry->session->store, record);
}

static void
update_n_active (SlSession *self)
{
  guint n = 0;

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (is_active (sl_download_get_state (entry->download)))
        n++;
    }

  if (n != self->n_active)
    {
      self->n_active = n;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ACTIVE]);
    }
}

static void
on_state_changed (SlDownload *download,
                  GParamSpec *pspec,
                  Entry      *entry)
{
  persist (entry);
  update_n_active (entry->session);
  queue_schedule (entry->session);
}

static void
on_name_changed (SlDownload *download,
                 GParamSpec *pspec,
                 Entry      *entry)
{
  persist (entry);
}

static void confirm_checkpoints (SlSession *self);

static void
on_checkpoints_flushed (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Flush *flush = user_data;
  g_autoptr (SlSession) self = g_weak_ref_get (&flush->session);
  g_autoptr (GError) error = NULL;

  /* A write that failed was reported by the store (the daemon says so); holding downloads
   * back would not make it write, so they go on as if it had. */
  if (!sl_store_flush_finish (SL_STORE (object), result, &error))
    g_debug ("Checkpoints confirmed unwritten: %s", error->message);
  for (guint i = 0; i < flush->confirmations->len; i++)
    {
      Confirmation *confirmation = g_ptr_array_index (flush->confirmations, i);

      sl_download_checkpoint_recorded (confirmation->download, confirmation->resume_data);
    }

  g_ptr_array_unref (flush->confirmations);
  g_weak_ref_clear (&flush->session);
  g_free (flush);

  if (self != NULL)
    {
      self->confirming = FALSE;
      confirm_checkpoints (self);
    }
}

/* Confirms checkpoints to their downloads once the store has committed them, with one flush
 * at a time for all that are waiting. */
static void
confirm_checkpoints (SlSession *self)
{
  Flush *flush;

  if (self->confirming || self->unconfirmed->len == 0)
    return;

  flush = g_new0 (Flush, 1);
  g_weak_ref_init (&flush->session, self);
  flush->confirmations = g_steal_pointer (&self->unconfirmed);
  self->unconfirmed = g_ptr_array_new_with_free_func ((GDestroyNotify) confirmation_free);
  self->confirming = TRUE;
  sl_store_flush_async (self->store, NULL, on_checkpoints_flushed, flush);
}

/* A refreshed link may point at another host, which the scheduler counts from now on. */
static void
on_uri_changed (SlDownload *download,
                GParamSpec *pspec,
                Entry      *entry)
{
  g_free (entry->host);
  entry->host = host_of (sl_download_get_uri (download));
  persist (entry);
  queue_schedule (entry->session);
}

static void
on_checkpoint (SlDownload *download,
               GBytes     *resume_data,
               Entry      *entry)
{
  SlSession *self = entry->session;
  Confirmation *confirmation;

  g_clear_pointer (&entry->record->resume_data, g_bytes_unref);
  entry->record->resume_data = g_bytes_ref (resume_data);
  entry->record->bytes_received = sl_download_get_bytes_checkpointed (download);
  entry->record->bytes_total = sl_download_get_bytes_total (download);

  if (self->store == NULL)
    {
      sl_download_checkpoint_recorded (download, resume_data);
      return;
    }

  sl_store_update_progress (self->store, entry->record->id, entry->record->bytes_received,
                            entry->record->bytes_total, resume_data);
  confirmation = g_new0 (Confirmation, 1);
  confirmation->download = g_object_ref (download);
  confirmation->resume_data = g_bytes_ref (resume_data);
  g_ptr_array_add (self->unconfirmed, confirmation);
  confirm_checkpoints (self);
}

/* Connections opened or closed: the host's share may change hands. */
static void
on_connections_changed (SlDownload *download,
                        GParamSpec *pspec,
                        Entry      *entry)
{
  queue_schedule (entry->session);
}

/* The most connections @host may have now. */
static guint
host_limit (SlSession  *self,
            const char *host)
{
  HostCap *cap = g_hash_table_lookup (self->host_caps, host);

  if (cap != NULL && cap->until <= g_get_real_time () / G_USEC_PER_SEC)
    {
      g_hash_table_remove (self->host_caps, host);
      cap = NULL;
    }
  return cap != NULL ? MIN (cap->connections, self->max_per_host) : self->max_per_host;
}

/* The host took no more connections than it has open now: it gets no more for a day. */
static void
on_connections_refused (SlDownload *download,
                        guint       taken,
                        Entry      *entry)
{
  SlSession *self = entry->session;
  guint open = 0;
  HostCap *cap;

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *other = g_ptr_array_index (self->entries, i);

      if (other != entry && g_str_equal (other->host, entry->host))
        open += sl_download_get_connections (other->download);
    }

  /* What one download found stands for the day; that download may lower it as it learns
   * more. Another's refusal with fewer open comes from the moment a server counts a closed
   * connection of the first, and that download caps itself. */
  cap = g_hash_table_lookup (self->host_caps, entry->host);
  if (host_limit (self, entry->host) < self->max_per_host && cap->finder != entry)
    return;

  cap = g_new0 (HostCap, 1);
  cap->finder = entry;
  cap->connections = MAX (open + taken, 1);
  cap->until = g_get_real_time () / G_USEC_PER_SEC + HOST_CAP_SECONDS;
  g_debug ("%s takes no more than %u connections for now", entry->host, cap->connections);
  g_hash_table_insert (self->host_caps, g_strdup (entry->host), cap);
  save_host_caps (self);
  queue_schedule (self);
}

static Entry *
entry_new (SlSession     *self,
           SlDownload    *download,
           SlStoreRecord *record)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->session = self;
  entry->download = download;
  entry->record = record;
  entry->host = host_of (sl_download_get_uri (download));
  sl_download_set_checkpoint_interval (download, CHECKPOINT_MS);
  sl_download_set_confirms_checkpoints (download, TRUE);
  sl_download_set_parent_limiter (download, self->limiter);

  g_signal_connect (download, "notify::state", G_CALLBACK (on_state_changed), entry);
  g_signal_connect (download, "notify::filename", G_CALLBACK (on_name_changed), entry);
  g_signal_connect (download, "notify::uri", G_CALLBACK (on_uri_changed), entry);
  g_signal_connect (download, "checkpoint", G_CALLBACK (on_checkpoint), entry);
  g_signal_connect (download, "notify::connections", G_CALLBACK (on_connections_changed),
                    entry);
  g_signal_connect (download, "connections-refused", G_CALLBACK (on_connections_refused),
                    entry);

  g_ptr_array_add (self->entries, entry);
  g_hash_table_insert (self->by_download, download, entry);
  g_hash_table_insert (self->by_id, &entry->record->id, entry);

  return entry;
}

/* Starts @download, telling it which partial files in its folder the others own: a paused
 * download's is closed, and so not locked, but still its own. */
static void
start (SlSession  *self,
       SlDownload *download)
{
  g_autoptr (GStrvBuilder) claimed = g_strv_builder_new ();
  g_auto (GStrv) names = NULL;
  g_autofree char *folder = g_file_get_path (sl_download_get_directory (download));

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      g_autoptr (GFile) partial = NULL;
      g_autoptr (GFile) parent = NULL;
      g_autofree char *parent_path = NULL;

      if (entry->download == download)
        continue;
      partial = sl_download_get_partial_file (entry->download);
      if (partial == NULL)
        continue;
      parent = g_file_get_parent (partial);
      parent_path = g_file_get_path (parent);
      if (g_strcmp0 (parent_path, folder) == 0)
        {
          g_autofree char *name = g_file_get_basename (partial);

          g_strv_builder_add (claimed, name);
        }
    }

  names = g_strv_builder_end (claimed);
  sl_download_set_claimed (download, (const char * const *) names);
  sl_download_start (download);
}

/* How a host's connections are used: by how many active downloads, how many connections
 * they have open (at least one each), and how many queued downloads wait for them. */
typedef struct
{
  guint downloads;
  guint connections;
  guint waiting;
  guint shared;     /* downloads given their share so far, in queue order */
} HostUse;

static HostUse *
host_use (GHashTable *uses,
          const char *host)
{
  HostUse *use = g_hash_table_lookup (uses, host);

  if (use == NULL)
    {
      use = g_new0 (HostUse, 1);
      g_hash_table_insert (uses, (gpointer) host, use);
    }
  return use;
}

/* Starts queued downloads, in queue order, while there is room overall and for their host,
 * and shares each host's connections between its active downloads. */
static gboolean
schedule_cb (gpointer user_data)
{
  SlSession *self = user_data;
  g_autoptr (GHashTable) uses = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  guint active = 0, waiting = 0;

  self->schedule_source = 0;
  if (self->shutting_down)
    return G_SOURCE_REMOVE;

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (is_active (sl_download_get_state (entry->download)))
        {
          HostUse *use = host_use (uses, entry->host);

          use->downloads++;
          use->connections += MAX (sl_download_get_connections (entry->download), 1);
          active++;
        }
    }

  for (guint i = 0; i < self->entries->len && active + waiting < self->max_active; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      HostUse *use;
      guint limit;

      if (sl_download_get_state (entry->download) != SL_DOWNLOAD_STATE_QUEUED)
        continue;

      use = host_use (uses, entry->host);
      limit = host_limit (self, entry->host);
      if (use->downloads + use->waiting >= limit)
        continue;
      /* Its host's connections are in use: the others make room, and it starts then. */
      if (use->connections >= limit)
        {
          use->waiting++;
          waiting++;
          continue;
        }

      use->downloads++;
      use->connections++;
      active++;
      start (self, entry->download);
    }

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      HostUse *use;
      guint limit, members;

      if (!is_active (sl_download_get_state (entry->download)))
        continue;

      use = g_hash_table_lookup (uses, entry->host);
      limit = host_limit (self, entry->host);
      members = use->downloads + use->waiting;
      /* What does not divide evenly goes to those ahead in the queue. */
      sl_download_set_connection_share (entry->download,
                                        MAX (limit / members +
                                               (use->shared < limit % members ? 1 : 0),
                                             1));
      use->shared++;
    }

  return G_SOURCE_REMOVE;
}

/* Scheduling waits for the main loop, so a burst of state changes is looked at once and no
 * download starts from inside another one's signal handler. */
static void
queue_schedule (SlSession *self)
{
  if (self->schedule_source == 0 && !self->shutting_down)
    self->schedule_source = g_idle_add_full (G_PRIORITY_DEFAULT, schedule_cb, self, NULL);
}

static gboolean
lookup_option (GVariant            *options,
               const char          *key,
               const GVariantType  *type,
               GVariant           **out,
               GError             **error)
{
  g_autoptr (GVariant) value = g_variant_lookup_value (options, key, NULL);

  *out = NULL;
  if (value == NULL)
    return TRUE;

  if (!g_variant_is_of_type (value, type))
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                   _("Option “%s” must be of type %s, not %s"), key,
                   g_variant_type_peek_string (type), g_variant_get_type_string (value));
      return FALSE;
    }

  *out = g_steal_pointer (&value);
  return TRUE;
}

static const char * const known_options[] = {
  "directory", "filename", "referrer", "cookies", "user-agent", "headers", "paused",
  "connections", "speed-limit", "checksum", NULL
};

static gboolean
check_options (GVariant  *options,
               GError   **error)
{
  GVariantIter iter;
  const char *key;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    {
      if (!g_strv_contains (known_options, key))
        {
          g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                       _("Unknown option “%s”"), key);
          return FALSE;
        }
    }

  return TRUE;
}

/* Validated when the download was added; a stored row out of range is left at one. 0 adds
 * connections while they pay; without the option, the session's default holds. */
static void
apply_connections (SlSession  *self,
                   SlDownload *download,
                   GVariant   *option)
{
  guint connections = option != NULL ? g_variant_get_uint32 (option) : self->connections;

  if (connections == 0)
    sl_download_set_adaptive_connections (download, SL_DOWNLOAD_DEFAULT_CONNECTIONS);
  else if (connections <= SL_DOWNLOAD_MAX_CONNECTIONS)
    sl_download_set_max_connections (download, connections);
}

/* Applies the options that travel with a download across restarts: headers, checksum,
 * connections and speed limit. Every header is checked before any is added, so that a
 * refused one leaves none behind. */
static gboolean
apply_request_options (SlSession   *self,
                       SlDownload  *download,
                       GVariant    *options,
                       GError     **error)
{
  static const struct {
    const char *option;
    const char *header;
  } header_options[] = {
    { "referrer", "Referer" },
    { "cookies", "Cookie" },
    { "user-agent", "User-Agent" },
  };
  /* Looked up once, kept until they are added. */
  g_autoptr (GPtrArray) values = g_ptr_array_new_full (G_N_ELEMENTS (header_options),
                                                       (GDestroyNotify) g_variant_unref);
  g_autoptr (GVariant) headers = NULL;
  g_autoptr (GVariant) checksum = NULL;
  g_autoptr (GVariant) connections = NULL;
  g_autoptr (GVariant) speed_limit = NULL;
  GVariantIter iter;
  const char *name, *value;

  for (guint i = 0; i < G_N_ELEMENTS (header_options); i++)
    {
      GVariant *option = NULL;

      if (!lookup_option (options, header_options[i].option, G_VARIANT_TYPE_STRING, &option,
                          error))
        return FALSE;
      g_ptr_array_add (values, option ? option : g_variant_ref_sink (g_variant_new_string ("")));
      if (!sl_header_check (header_options[i].header,
                            g_variant_get_string (values->pdata[i], NULL), error))
        return FALSE;
    }

  if (!lookup_option (options, "headers", G_VARIANT_TYPE ("a{ss}"), &headers, error))
    return FALSE;
  if (headers != NULL)
    {
      g_variant_iter_init (&iter, headers);
      while (g_variant_iter_next (&iter, "{&s&s}", &name, &value))
        {
          if (!sl_header_check (name, value, error))
            return FALSE;
        }
    }

  if (!lookup_option (options, "checksum", G_VARIANT_TYPE_STRING, &checksum, error))
    return FALSE;
  if (checksum != NULL &&
      !sl_download_set_checksum (download, g_variant_get_string (checksum, NULL), error))
    return FALSE;

  if (!lookup_option (options, "connections", G_VARIANT_TYPE_UINT32, &connections, error))
    return FALSE;
  apply_connections (self, download, connections);

  if (!lookup_option (options, "speed-limit", G_VARIANT_TYPE_UINT64, &speed_limit, error))
    return FALSE;
  if (speed_limit != NULL)
    sl_download_set_speed_limit (download, g_variant_get_uint64 (speed_limit));

  /* An empty cookie, user agent or referrer is none. */
  for (guint i = 0; i < G_N_ELEMENTS (header_options); i++)
    {
      const char *text = g_variant_get_string (values->pdata[i], NULL);

      if (*text != '\0')
        sl_download_add_header (download, header_options[i].header, text);
    }
  if (headers != NULL)
    {
      g_variant_iter_init (&iter, headers);
      while (g_variant_iter_next (&iter, "{&s&s}", &name, &value))
        sl_download_add_header (download, name, value);
    }

  return TRUE;
}

static GError *
error_from_record (const SlStoreRecord *record)
{
  SlDownloadError code;

  if (record->error_kind == SL_ERROR_KIND_NONE)
    return NULL;

  switch (record->error_kind)
    {
    case SL_ERROR_KIND_NETWORK:
      code = SL_DOWNLOAD_ERROR_NETWORK;
      break;
    case SL_ERROR_KIND_SERVER:
      code = SL_DOWNLOAD_ERROR_HTTP_STATUS;
      break;
    case SL_ERROR_KIND_FILE:
      code = SL_DOWNLOAD_ERROR_FILE;
      break;
    case SL_ERROR_KIND_USER:
    case SL_ERROR_KIND_NONE:
    default:
      code = SL_DOWNLOAD_ERROR_CANCELLED;
      break;
    }

  return g_error_new_literal (SL_DOWNLOAD_ERROR, code,
                              record->error_message ? record->error_message : "");
}

/* Recreates a download from its row, taking the record; a row that cannot become one is
 * skipped, saying why. */
static void
restore (SlSession     *self,
         SlStoreRecord *record)
{
  g_autoptr (SlDownload) download = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) last_error = NULL;
  g_autoptr (GFile) destination = NULL;
  SlDownloadState state = record->state;

  /* A failed download keeps its resume data, so that Retry continues from its bytes. */
  if (record->resume_data != NULL && state != SL_DOWNLOAD_STATE_COMPLETED &&
      state != SL_DOWNLOAD_STATE_CANCELED)
    {
      download = sl_download_new_from_resume_data (self->soup_session, record->resume_data,
                                                   &error);
      if (download == NULL)
        {
          g_warning ("Download %" G_GINT64_FORMAT ": %s; it starts over", record->id,
                     error->message);
          g_clear_error (&error);
        }
    }

  if (download == NULL)
    {
      g_autoptr (GFile) directory = NULL;

      download = sl_download_new (self->soup_session, record->uri, &error);
      if (download == NULL)
        {
          g_warning ("Download %" G_GINT64_FORMAT " is skipped: %s", record->id, error->message);
          sl_store_record_free (record);
          return;
        }
      directory = g_file_new_for_path (record->directory);
      sl_download_set_directory (download, directory);
      if (state == SL_DOWNLOAD_STATE_COMPLETED && record->filename != NULL)
        destination = g_file_get_child (directory, record->filename);
      else if (state == SL_DOWNLOAD_STATE_CANCELED && record->filename != NULL)
        {
          /* A canceled download never runs again: the name it had, whoever gave it, is what
           * the list shows of it. */
          sl_download_set_filename (download, record->filename);
        }
      else if (record->options != NULL)
        {
          const char *chosen = NULL;

          /* A name the caller chose still holds; one the server gave will be asked again.
           * Names were once made safe rather than checked, and still are when they come back
           * from a list of those days. */
          if (g_variant_lookup (record->options, "filename", "&s", &chosen))
            {
              g_autofree char *safe = sl_filename_check (chosen, NULL)
                                        ? g_strdup (chosen) : sl_filename_sanitize (chosen);

              if (safe != NULL)
                sl_download_set_filename (download, safe);
            }
        }
    }

  if (record->options == NULL)
    apply_connections (self, download, NULL);
  else if (!apply_request_options (self, download, record->options, &error))
    g_warning ("Download %" G_GINT64_FORMAT ": %s", record->id, error->message);

  last_error = error_from_record (record);
  sl_download_restore_state (download, state, record->bytes_received, record->bytes_total,
                             record->http_status, last_error, destination);

  entry_new (self, g_steal_pointer (&download), record);
}

/* A crash right after a download created a numbered partial file, before anything recorded
 * it, leaves that file unclaimed and the download without resume data. Partial files that no
 * download claims are offered to the unfinished downloads without one in the same folder,
 * which adopt theirs, if it is theirs, by its bytes. */
static void
offer_orphans (SlSession *self)
{
  g_autoptr (GHashTable) claimed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) orphans_by_folder =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      g_autoptr (GFile) partial = sl_download_get_partial_file (entry->download);

      if (partial != NULL)
        g_hash_table_add (claimed, g_file_get_path (partial));
    }

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      g_autoptr (GFile) partial = sl_download_get_partial_file (entry->download);
      g_autofree char *folder = NULL;
      GStrv orphans;

      if (partial != NULL ||
          sl_download_state_is_finished (sl_download_get_state (entry->download)))
        continue;

      folder = g_file_get_path (sl_download_get_directory (entry->download));
      orphans = g_hash_table_lookup (orphans_by_folder, folder);
      if (orphans == NULL)
        {
          g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
          g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
          const char *name;

          while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *path = g_build_filename (folder, name, NULL);

              if (g_str_has_suffix (name, ".part") && !g_hash_table_contains (claimed, path))
                g_strv_builder_add (builder, name);
            }
          orphans = g_strv_builder_end (builder);
          g_hash_table_insert (orphans_by_folder, g_strdup (folder), orphans);
        }

      if (orphans[0] != NULL)
        sl_download_set_orphans (entry->download, (const char * const *) orphans);
    }
}

/* The settings the store keeps, by key: the limits, and what hosts took. */
#define SETTING_MAX_ACTIVE   "max-active"
#define SETTING_MAX_PER_HOST "max-per-host"
#define SETTING_MAX_SPEED    "max-speed"
#define SETTING_HOST_CAPS    "host-caps"
#define SETTING_CONNECTIONS  "connections"

static void
save_setting (SlSession  *self,
              const char *key,
              GVariant   *value)
{
  if (self->store != NULL)
    sl_store_set_setting (self->store, key, value);
  else
    g_variant_unref (g_variant_ref_sink (value));
}

static void
save_host_caps (SlSession *self)
{
  GVariantBuilder builder;
  GHashTableIter iter;
  const char *host;
  HostCap *cap;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{s(ux)}"));
  g_hash_table_iter_init (&iter, self->host_caps);
  while (g_hash_table_iter_next (&iter, (gpointer *) &host, (gpointer *) &cap))
    g_variant_builder_add (&builder, "{s(ux)}", host, cap->connections, cap->until);
  save_setting (self, SETTING_HOST_CAPS, g_variant_builder_end (&builder));
}

/* Reads the number @key of @settings into @value if it is there, of type u or t (as the
 * width of @value, @type) and within [@min, @max]; one that is not is left, saying so. */
static gboolean
setting_number (GVariant           *settings,
                const char         *key,
                const GVariantType *type,
                guint64             min,
                guint64             max,
                guint64            *value)
{
  g_autoptr (GVariant) found = g_variant_lookup_value (settings, key, NULL);
  guint64 number;

  if (found == NULL)
    return FALSE;
  if (!g_variant_is_of_type (found, type))
    {
      g_warning ("Ignoring the setting “%s”: it is of type %s, not %s", key,
                 g_variant_get_type_string (found), g_variant_type_peek_string (type));
      return FALSE;
    }
  number = g_variant_is_of_type (found, G_VARIANT_TYPE_UINT64) ? g_variant_get_uint64 (found)
                                                               : g_variant_get_uint32 (found);
  if (number < min || number > max)
    {
      g_warning ("Ignoring the setting “%s”: %" G_GUINT64_FORMAT " is not within %"
                 G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT, key, number, min, max);
      return FALSE;
    }
  *value = number;
  return TRUE;
}

/* Takes the settings the store kept; a value of the wrong type or out of range is left at
 * its default, saying so. */
static void
load_settings (SlSession *self)
{
  g_autoptr (GVariant) settings = NULL;
  g_autoptr (GVariant) caps = NULL;
  g_autoptr (GError) error = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint64 number;

  settings = sl_store_load_settings (self->store, &error);
  if (settings == NULL)
    {
      g_warning ("Cannot load the settings: %s", error->message);
      return;
    }

  if (setting_number (settings, SETTING_MAX_ACTIVE, G_VARIANT_TYPE_UINT32, 1, MAX_CONNECTIONS,
                      &number))
    self->max_active = number;
  if (setting_number (settings, SETTING_MAX_PER_HOST, G_VARIANT_TYPE_UINT32, 1, MAX_CONNECTIONS,
                      &number))
    self->max_per_host = number;
  if (setting_number (settings, SETTING_CONNECTIONS, G_VARIANT_TYPE_UINT32, 0,
                      SL_DOWNLOAD_MAX_CONNECTIONS, &number))
    self->connections = number;
  if (setting_number (settings, SETTING_MAX_SPEED, G_VARIANT_TYPE_UINT64, 0, G_MAXUINT64,
                      &number))
    sl_rate_limiter_set_rate (self->limiter, number);

  caps = g_variant_lookup_value (settings, SETTING_HOST_CAPS, NULL);
  if (caps != NULL && !g_variant_is_of_type (caps, G_VARIANT_TYPE ("a{s(ux)}")))
    {
      g_warning ("Ignoring the setting “%s”: it is of type %s, not a{s(ux)}", SETTING_HOST_CAPS,
                 g_variant_get_type_string (caps));
      g_clear_pointer (&caps, g_variant_unref);
    }
  if (caps != NULL)
    {
      GVariantIter iter;
      const char *host;
      guint32 connections;
      gint64 until;

      g_variant_iter_init (&iter, caps);
      while (g_variant_iter_next (&iter, "{&s(ux)}", &host, &connections, &until))
        {
          HostCap *cap;

          if (until <= now || connections < 1)
            continue;
          cap = g_new0 (HostCap, 1);
          cap->connections = connections;
          cap->until = MIN (until, now + HOST_CAP_SECONDS);
          g_hash_table_insert (self->host_caps, g_strdup (host), cap);
        }
    }
}

static void
load (SlSession *self)
{
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GError) error = NULL;

  load_settings (self);
  records = sl_store_load (self->store, &error);
  if (records == NULL)
    {
      g_warning ("Cannot load the download list: %s", error->message);
      return;
    }

  /* The records pass to the entries. */
  g_ptr_array_set_free_func (records, NULL);
  for (guint i = 0; i < records->len; i++)
    restore (self, g_ptr_array_index (records, i));
  offer_orphans (self);

  update_n_active (self);
  queue_schedule (self);
}

/* GListModel */

static GType
sl_session_get_item_type (GListModel *model)
{
  return SL_TYPE_DOWNLOAD;
}

static guint
sl_session_get_n_items (GListModel *model)
{
  return SL_SESSION (model)->entries->len;
}

static gpointer
sl_session_get_item (GListModel *model,
                     guint       position)
{
  SlSession *self = SL_SESSION (model);

  if (position >= self->entries->len)
    return NULL;

  return g_object_ref (((Entry *) g_ptr_array_index (self->entries, position))->download);
}

static void
sl_session_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = sl_session_get_item_type;
  iface->get_n_items = sl_session_get_n_items;
  iface->get_item = sl_session_get_item;
}

/* GObject */

static void
sl_session_dispose (GObject *object)
{
  SlSession *self = (SlSession *) object;

  g_clear_handle_id (&self->schedule_source, g_source_remove);
  if (self->entries != NULL)
    g_ptr_array_set_size (self->entries, 0);
  if (self->unconfirmed != NULL)
    g_ptr_array_set_size (self->unconfirmed, 0);
  g_clear_object (&self->store);
  g_clear_object (&self->soup_session);
  g_clear_object (&self->default_directory);

  G_OBJECT_CLASS (sl_session_parent_class)->dispose (object);
}

static void
sl_session_finalize (GObject *object)
{
  SlSession *self = (SlSession *) object;

  g_ptr_array_unref (self->entries);
  g_ptr_array_unref (self->unconfirmed);
  g_hash_table_unref (self->by_download);
  g_hash_table_unref (self->by_id);
  g_hash_table_unref (self->host_caps);
  sl_rate_limiter_unref (self->limiter);

  G_OBJECT_CLASS (sl_session_parent_class)->finalize (object);
}

static void
sl_session_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  SlSession *self = SL_SESSION (object);

  switch (prop_id)
    {
    case PROP_MAX_ACTIVE:
      g_value_set_uint (value, self->max_active);
      break;

    case PROP_MAX_PER_HOST:
      g_value_set_uint (value, self->max_per_host);
      break;

    case PROP_MAX_SPEED:
      g_value_set_uint64 (value, sl_rate_limiter_get_rate (self->limiter));
      break;

    case PROP_CONNECTIONS:
      g_value_set_uint (value, self->connections);
      break;

    case PROP_N_ACTIVE:
      g_value_set_uint (value, self->n_active);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_session_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  SlSession *self = SL_SESSION (object);

  switch (prop_id)
    {
    case PROP_MAX_ACTIVE:
      sl_session_set_max_active (self, g_value_get_uint (value));
      break;

    case PROP_MAX_PER_HOST:
      sl_session_set_max_per_host (self, g_value_get_uint (value));
      break;

    case PROP_MAX_SPEED:
      sl_session_set_max_speed (self, g_value_get_uint64 (value));
      break;

    case PROP_CONNECTIONS:
      sl_session_set_connections (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sl_session_class_init (SlSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_session_dispose;
  object_class->finalize = sl_session_finalize;
  object_class->get_property = sl_session_get_property;
  object_class->set_property = sl_session_set_property;

  properties[PROP_MAX_ACTIVE] =
    g_param_spec_uint ("max-active", NULL, NULL, 1, MAX_CONNECTIONS, DEFAULT_MAX_ACTIVE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_PER_HOST] =
    g_param_spec_uint ("max-per-host", NULL, NULL, 1, MAX_CONNECTIONS, DEFAULT_MAX_PER_HOST,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_SPEED] =
    g_param_spec_uint64 ("max-speed", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONNECTIONS] =
    g_param_spec_uint ("connections", NULL, NULL, 0, SL_DOWNLOAD_MAX_CONNECTIONS, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ACTIVE] =
    g_param_spec_uint ("n-active", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sl_session_init (SlSession *self)
{
  const char *downloads = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);

  self->max_active = DEFAULT_MAX_ACTIVE;
  self->max_per_host = DEFAULT_MAX_PER_HOST;
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  self->unconfirmed = g_ptr_array_new_with_free_func ((GDestroyNotify) confirmation_free);
  self->by_download = g_hash_table_new (NULL, NULL);
  self->by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->host_caps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->limiter = sl_rate_limiter_new (NULL);
  self->default_directory = g_file_new_for_path (downloads ? downloads : g_get_home_dir ());
  /* Connection limits well above libsoup's defaults (2 per host): the scheduler's own limits
   * are the ones that hold, and they can be raised. */
  self->soup_session = soup_session_new_with_options ("user-agent",
                                                      PACKAGE_NAME "/" PACKAGE_VERSION,
                                                      "max-conns", MAX_CONNECTIONS,
                                                      "max-conns-per-host", MAX_CONNECTIONS,
                                                      NULL);
}

/**
 * sl_session_new:
 * @store: (nullable): where the list is kept, or %NULL for a list that lives in memory only
 *
 * Creates the session and restores the downloads in @store: those that were running resume,
 * queued ones stay queued, paused ones paused, finished ones stay in the history.
 *
 * Returns: (transfer full): a new session
 */
SlSession *
sl_session_new (SlStore *store)
{
  SlSession *self;

  g_return_val_if_fail (store == NULL || SL_IS_STORE (store), NULL);

  self = g_object_new (SL_TYPE_SESSION, NULL);
  if (store != NULL)
    {
      self->store = g_object_ref (store);
      load (self);
    }

  return self;
}

/**
 * sl_session_add:
 * @self: a session
 * @uri: an http or https URI
 * @options: (nullable): an a{sv} of `directory` s, `filename` s, `referrer` s, `cookies` s,
 *   `user-agent` s, `headers` a{ss}, `paused` b, `connections` u (0, the default, for
 *   automatic), `speed-limit` t, `checksum` s
 * @error: return location for an error
 *
 * Adds a download at the end of the queue. It starts when its turn comes, unless `paused`.
 *
 * Returns: (transfer none) (nullable): the download, or %NULL if @uri or @options are not
 *   acceptable, with @error saying why
 */
SlDownload *
sl_session_add (SlSession   *self,
                const char  *uri,
                GVariant    *options,
                GError     **error)
{
  g_autoptr (GVariant) owned_options = NULL;
  g_autoptr (GVariant) directory_value = NULL;
  g_autoptr (GVariant) filename_value = NULL;
  g_autoptr (GVariant) paused_value = NULL;
  g_autoptr (GVariant) connections_value = NULL;
  g_autoptr (GFile) directory = NULL;
  g_autoptr (SlDownload) download = NULL;
  g_autofree char *directory_path = NULL;
  g_autofree char *filename = NULL;
  SlStoreRecord *record;
  Entry *entry;

  g_return_val_if_fail (SL_IS_SESSION (self), NULL);
  g_return_val_if_fail (options == NULL ||
                        g_variant_is_of_type (options, G_VARIANT_TYPE_VARDICT), NULL);

  /* Floating options are taken, as GVariant-taking calls do. */
  if (options == NULL)
    options = g_variant_new ("a{sv}", NULL);
  options = owned_options = g_variant_ref_sink (options);

  /* The address first: it is what the caller most likely got wrong. */
  download = sl_download_new (self->soup_session, uri, error);
  if (download == NULL)
    return NULL;

  if (!check_options (options, error) ||
      !lookup_option (options, "directory", G_VARIANT_TYPE_STRING, &directory_value, error) ||
      !lookup_option (options, "filename", G_VARIANT_TYPE_STRING, &filename_value, error) ||
      !lookup_option (options, "paused", G_VARIANT_TYPE_BOOLEAN, &paused_value, error) ||
      !lookup_option (options, "connections", G_VARIANT_TYPE_UINT32, &connections_value, error))
    return NULL;

  if (connections_value != NULL &&
      g_variant_get_uint32 (connections_value) > SL_DOWNLOAD_MAX_CONNECTIONS)
    {
      g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                   _("Connections must be between 0 (automatic) and 16"));
      return NULL;
    }

  if (directory_value != NULL)
    {
      const char *path = g_variant_get_string (directory_value, NULL);

      if (!g_path_is_absolute (path))
        {
          g_set_error (error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_INVALID_ARGUMENT,
                       _("The folder “%s” is not an absolute path"), path);
          return NULL;
        }
      directory = g_file_new_for_path (path);
    }
  else
    {
      g_autofree char *path = g_file_get_path (self->default_directory);

      /* The default folder is ours to create; one the caller names must exist. */
      g_mkdir_with_parents (path, 0755);
      directory = g_object_ref (self->default_directory);
    }

  directory_path = g_file_get_path (directory);
  if (!sl_folder_check (directory_path, error))
    return NULL;

  /* A name from a caller is used as given or refused, never changed: "sub/x.bin" is not
   * "x.bin". */
  if (filename_value != NULL)
    {
      if (!sl_filename_check (g_variant_get_string (filename_value, NULL), error))
        return NULL;
      filename = g_variant_dup_string (filename_value, NULL);
    }

  if (!apply_request_options (self, download, options, error))
    return NULL;

  sl_download_set_directory (download, directory);
  if (filename != NULL)
    sl_download_set_filename (download, filename);
  if (paused_value != NULL && g_variant_get_boolean (paused_value))
    sl_download_restore_state (download, SL_DOWNLOAD_STATE_PAUSED, 0, -1, 0, NULL, NULL);

  record = sl_store_record_new ();
  record->uri = g_strdup (sl_download_get_uri (download));
  record->directory = g_strdup (directory_path);
  record->filename = g_strdup (filename);
  record->state = sl_download_get_state (download);
  record->options = g_variant_ref (options);
  record->created_at = g_get_real_time () / G_USEC_PER_SEC;
  record->position = self->entries->len > 0
                       ? ((Entry *) g_ptr_array_index (self->entries,
                                                       self->entries->len - 1))->record->position + 1
                       : 0;
  if (self->store != NULL)
    sl_store_insert (self->store, record);
  else
    {
      static gint64 next_id = 1;

      record->id = next_id++;
    }

  entry = entry_new (self, g_steal_pointer (&download), record);
  g_list_model_items_changed (G_LIST_MODEL (self), self->entries->len - 1, 0, 1);
  queue_schedule (self);

  return entry->download;
}

static Entry *
lookup_entry (SlSession  *self,
              SlDownload *download)
{
  return g_hash_table_lookup (self->by_download, download);
}

/**
 * sl_session_remove:
 * @self: a session
 * @download: one of its downloads
 * @delete_file: whether to delete the completed file too
 *
 * Takes a download off the list. One that has not completed is cancelled, which deletes its
 * partial file; a completed file is deleted only if @delete_file.
 */
void
sl_session_remove (SlSession  *self,
                   SlDownload *download,
                   gboolean    delete_file)
{
  Entry *entry;
  guint position;

  g_return_if_fail (SL_IS_SESSION (self));

  entry = lookup_entry (self, download);
  g_return_if_fail (entry != NULL);

  g_ptr_array_find (self->entries, entry, &position);
  g_signal_handlers_disconnect_by_data (download, entry);

  if (self->store != NULL)
    sl_store_remove (self->store, entry->record->id);

  if (sl_download_get_state (download) == SL_DOWNLOAD_STATE_COMPLETED)
    {
      GFile *destination = sl_download_get_destination (download);

      if (delete_file && destination != NULL)
        g_file_delete_async (destination, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
    }
  else
    sl_download_cancel (download);

  g_hash_table_remove (self->by_download, download);
  g_hash_table_remove (self->by_id, &entry->record->id);
  g_ptr_array_remove_index (self->entries, position);
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);

  update_n_active (self);
  queue_schedule (self);
}

/**
 * sl_session_pause:
 * @self: a session
 * @download: one of its downloads
 *
 * Pauses a queued, running or waiting download; its resume data reaches the store.
 */
void
sl_session_pause (SlSession  *self,
                  SlDownload *download)
{
  g_return_if_fail (SL_IS_SESSION (self));
  g_return_if_fail (lookup_entry (self, download) != NULL);

  if (sl_download_state_is_finished (sl_download_get_state (download)) ||
      sl_download_get_state (download) == SL_DOWNLOAD_STATE_PAUSED)
    return;

  sl_download_pause_async (download, NULL, NULL, NULL);
}

/**
 * sl_session_resume:
 * @self: a session
 * @download: one of its downloads
 *
 * Puts a paused or failed download back in the queue, where it continues from its bytes when
 * its turn comes. A waiting download retries at once.
 */
void
sl_session_resume (SlSession  *self,
                   SlDownload *download)
{
  g_return_if_fail (SL_IS_SESSION (self));
  g_return_if_fail (lookup_entry (self, download) != NULL);

  if (sl_download_get_state (download) == SL_DOWNLOAD_STATE_WAITING)
    start (self, download);
  else
    sl_download_enqueue (download);

  queue_schedule (self);
}

void
sl_session_pause_all (SlSession *self)
{
  g_return_if_fail (SL_IS_SESSION (self));

  for (guint i = 0; i < self->entries->len; i++)
    sl_session_pause (self, ((Entry *) g_ptr_array_index (self->entries, i))->download);
}

void
sl_session_resume_all (SlSession *self)
{
  g_return_if_fail (SL_IS_SESSION (self));

  for (guint i = 0; i < self->entries->len; i++)
    {
      SlDownload *download = ((Entry *) g_ptr_array_index (self->entries, i))->download;

      if (sl_download_get_state (download) == SL_DOWNLOAD_STATE_PAUSED)
        sl_download_enqueue (download);
    }

  queue_schedule (self);
}

/**
 * sl_session_shutdown:
 * @self: a session
 *
 * Gets the session ready for the process to end: no download starts any more, and the running
 * and waiting ones pause, flushing their partial files and recording their resume data, but
 * stay recorded as running, so that the next session resumes them; queued ones stay queued.
 * The pauses land asynchronously: #SlSession:n-active reaches 0 when they all have.
 */
void
sl_session_shutdown (SlSession *self)
{
  g_return_if_fail (SL_IS_SESSION (self));

  self->shutting_down = TRUE;
  g_clear_handle_id (&self->schedule_source, g_source_remove);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (is_active (sl_download_get_state (entry->download)))
        {
          entry->interrupted = TRUE;
          sl_download_pause_async (entry->download, NULL, NULL, NULL);
        }
    }
}

/**
 * sl_session_move:
 * @self: a session
 * @download: one of its downloads
 * @position: its new place in the queue (clamped to the end)
 *
 * Returns: whether the download moved
 */
gboolean
sl_session_move (SlSession  *self,
                 SlDownload *download,
                 guint       position)
{
  Entry *entry;
  guint from;

  g_return_val_if_fail (SL_IS_SESSION (self), FALSE);

  entry = lookup_entry (self, download);
  g_return_val_if_fail (entry != NULL, FALSE);

  g_ptr_array_find (self->entries, entry, &from);
  position = MIN (position, self->entries->len - 1);
  if (position == from)
    return FALSE;

  g_ptr_array_steal_index (self->entries, from);
  g_ptr_array_insert (self->entries, position, entry);

  /* Renumber the rows between the two places, so that the order survives a restart. */
  for (guint i = MIN (from, position); i <= MAX (from, position); i++)
    {
      Entry *moved = g_ptr_array_index (self->entries, i);

      moved->record->position = i;
      if (self->store != NULL)
        sl_store_update (self->store, moved->record);
    }

  g_list_model_items_changed (G_LIST_MODEL (self), MIN (from, position),
                              MAX (from, position) - MIN (from, position) + 1,
                              MAX (from, position) - MIN (from, position) + 1);
  queue_schedule (self);
  return TRUE;
}

/**
 * sl_session_get_id:
 * @self: a session
 * @download: one of its downloads
 *
 * Returns: the download's id, stable across restarts, or 0 if it is not in the session
 */
gint64
sl_session_get_id (SlSession  *self,
                   SlDownload *download)
{
  Entry *entry;

  g_return_val_if_fail (SL_IS_SESSION (self), 0);

  entry = lookup_entry (self, download);
  return entry ? entry->record->id : 0;
}

/**
 * sl_session_lookup:
 * @self: a session
 * @id: a download id
 *
 * Returns: (transfer none) (nullable): the download with @id
 */
SlDownload *
sl_session_lookup (SlSession *self,
                   gint64     id)
{
  Entry *entry;

  g_return_val_if_fail (SL_IS_SESSION (self), NULL);

  entry = g_hash_table_lookup (self->by_id, &id);
  return entry ? entry->download : NULL;
}

guint
sl_session_get_max_active (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), 0);

  return self->max_active;
}

/**
 * sl_session_set_max_active:
 * @self: a session
 * @max_active: how many downloads may transfer at once
 *
 * Raising it starts queued downloads; lowering it lets running ones finish.
 */
void
sl_session_set_max_active (SlSession *self,
                           guint      max_active)
{
  g_return_if_fail (SL_IS_SESSION (self));
  g_return_if_fail (max_active >= 1 && max_active <= MAX_CONNECTIONS);

  if (self->max_active == max_active)
    return;

  self->max_active = max_active;
  save_setting (self, SETTING_MAX_ACTIVE, g_variant_new_uint32 (max_active));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ACTIVE]);
  queue_schedule (self);
}

guint
sl_session_get_max_per_host (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), 0);

  return self->max_per_host;
}

void
sl_session_set_max_per_host (SlSession *self,
                             guint      max_per_host)
{
  g_return_if_fail (SL_IS_SESSION (self));
  g_return_if_fail (max_per_host >= 1 && max_per_host <= MAX_CONNECTIONS);

  if (self->max_per_host == max_per_host)
    return;

  self->max_per_host = max_per_host;
  save_setting (self, SETTING_MAX_PER_HOST, g_variant_new_uint32 (max_per_host));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PER_HOST]);
  queue_schedule (self);
}

/**
 * sl_session_set_speed_limit:
 * @self: a session
 * @download: one of its downloads
 * @bytes_per_second: the most it may read, or 0 for no limit
 *
 * Limits @download at once, also while it runs, and keeps the limit with it across
 * restarts.
 */
void
sl_session_set_speed_limit (SlSession  *self,
                            SlDownload *download,
                            guint64     bytes_per_second)
{
  Entry *entry;
  GVariantDict dict;

  g_return_if_fail (SL_IS_SESSION (self));
  entry = g_hash_table_lookup (self->by_download, download);
  g_return_if_fail (entry != NULL);

  sl_download_set_speed_limit (download, bytes_per_second);

  g_variant_dict_init (&dict, entry->record->options);
  g_variant_dict_insert (&dict, "speed-limit", "t", bytes_per_second);
  g_clear_pointer (&entry->record->options, g_variant_unref);
  entry->record->options = g_variant_ref_sink (g_variant_dict_end (&dict));
  persist (entry);
}

guint64
sl_session_get_max_speed (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), 0);

  return sl_rate_limiter_get_rate (self->limiter);
}

/**
 * sl_session_set_max_speed:
 * @self: a session
 * @bytes_per_second: the most all downloads together may read, or 0 for no limit
 *
 * Takes effect at once, also on running downloads; each download's own limit applies
 * within it.
 */
void
sl_session_set_max_speed (SlSession *self,
                          guint64    bytes_per_second)
{
  g_return_if_fail (SL_IS_SESSION (self));

  if (sl_rate_limiter_get_rate (self->limiter) == bytes_per_second)
    return;

  sl_rate_limiter_set_rate (self->limiter, bytes_per_second);
  save_setting (self, SETTING_MAX_SPEED, g_variant_new_uint64 (bytes_per_second));
  for (guint i = 0; i < self->entries->len; i++)
    sl_download_limit_changed (((Entry *) g_ptr_array_index (self->entries, i))->download);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_SPEED]);
}

guint
sl_session_get_connections (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), 0);

  return self->connections;
}

/**
 * sl_session_set_connections:
 * @self: a session
 * @connections: how many connections a download added without the `connections` option may
 *   use, 1 to %SL_DOWNLOAD_MAX_CONNECTIONS, or 0 (the default) for automatic
 *
 * Applies to downloads added or restored from now on.
 */
void
sl_session_set_connections (SlSession *self,
                            guint      connections)
{
  g_return_if_fail (SL_IS_SESSION (self));
  g_return_if_fail (connections <= SL_DOWNLOAD_MAX_CONNECTIONS);

  if (self->connections == connections)
    return;

  self->connections = connections;
  save_setting (self, SETTING_CONNECTIONS, g_variant_new_uint32 (connections));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTIONS]);
}

/**
 * sl_session_get_n_active:
 * @self: a session
 *
 * Returns: how many downloads are running or waiting to retry
 */
guint
sl_session_get_n_active (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), 0);

  return self->n_active;
}

GFile *
sl_session_get_default_directory (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);

  return self->default_directory;
}

/**
 * sl_session_set_default_directory:
 * @self: a session
 * @directory: where downloads go when added without a `directory` option
 */
void
sl_session_set_default_directory (SlSession *self,
                                  GFile     *directory)
{
  g_return_if_fail (SL_IS_SESSION (self));
  g_return_if_fail (G_IS_FILE (directory));

  g_set_object (&self->default_directory, directory);
}

/**
 * sl_session_get_soup_session:
 * @self: a session
 *
 * Returns: (transfer none): the HTTP session every download of @self shares
 */
SoupSession *
sl_session_get_soup_session (SlSession *self)
{
  g_return_val_if_fail (SL_IS_SESSION (self), NULL);

  return self->soup_session;
}
