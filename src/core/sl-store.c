/* sl-store.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "sl-filename-rules.h"
#include "sl-states.h"
#include "sl-store.h"

/* SlStore keeps the download list, and the daemon's settings beside it, in one SQLite
 * database. The main loop never waits on the disk for a write: the public calls only put
 * operations on a queue, and one worker thread (a GThreadPool of at most one thread, woken by a
 * token whenever the queue stops being empty) takes everything waiting at once and writes it in
 * one transaction. So the more operations pile up while a commit is in progress, the fewer
 * commits there are: 100 active downloads checkpointing cost about one commit per round, not
 * 100.
 *
 * The connection is opened on the calling thread before the worker exists, then used only by
 * the worker (loads and synchronous flushes are operations on the same queue that the caller
 * waits for), and closed once the worker has stopped. Never two threads at once, so it is
 * opened with SQLITE_OPEN_NOMUTEX.
 *
 * What the worker has to say (errors, finished flushes) goes back through a queue of events
 * that an idle source delivers on the main context the store was opened in. The worker never
 * holds a reference to the store, so the last one is never dropped on the worker, which could
 * not wait for itself in dispose. */

#define BUSY_TIMEOUT_MS 5000
#define MAX_ASIDE_NAMES 1000

/* Migration N brings the schema from user_version N to N + 1. To change the schema, append an
 * entry: existing databases run only the entries they have not run yet, in order, each in its
 * own transaction together with the new user_version. */
static const char * const migrations[] = {
  /* 1: the download list. States and error kinds are stored by name ("queued", "network", …,
   * from sl-states.c), the same words as on D-Bus, so reordering the C enums never changes what
   * a stored row means; no error is "none". STRICT makes SQLite refuse a value of the wrong
   * type. */
  "CREATE TABLE downloads ("
  "  id             INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  uri            TEXT NOT NULL,"
  "  directory      TEXT NOT NULL,"
  "  filename       TEXT,"
  "  state          TEXT NOT NULL,"
  "  error_kind     TEXT NOT NULL DEFAULT 'none',"
  "  error_message  TEXT,"
  "  http_status    INTEGER NOT NULL DEFAULT 0,"
  "  bytes_received INTEGER NOT NULL DEFAULT 0,"
  "  bytes_total    INTEGER NOT NULL DEFAULT -1,"
  "  resume_data    BLOB,"
  "  options        BLOB,"
  "  position       INTEGER NOT NULL DEFAULT 0,"
  "  created_at     INTEGER NOT NULL DEFAULT 0,"
  "  finished_at    INTEGER NOT NULL DEFAULT 0"
  ") STRICT;"
  "CREATE INDEX downloads_by_position ON downloads (position, id);",

  /* 2: settings by name. Each value is a GVariant of type "v" in normal form, so the value's
   * type is stored with it: a setting whose type changes between versions is recognised,
   * rather than misread, and no column has to be added for a new setting. */
  "CREATE TABLE settings ("
  "  key   TEXT PRIMARY KEY NOT NULL,"
  "  value BLOB NOT NULL"
  ") STRICT;",
};

/* The columns in the order of the SELECT, and of the parameters ?1…?15 of INSERT and UPDATE. */
#define COLUMNS "id, uri, directory, filename, state, error_kind, error_message, http_status, " \
                "bytes_received, bytes_total, resume_data, options, position, created_at, "      \
                "finished_at"

enum
{
  COL_ID,
  COL_URI,
  COL_DIRECTORY,
  COL_FILENAME,
  COL_STATE,
  COL_ERROR_KIND,
  COL_ERROR_MESSAGE,
  COL_HTTP_STATUS,
  COL_BYTES_RECEIVED,
  COL_BYTES_TOTAL,
  COL_RESUME_DATA,
  COL_OPTIONS,
  COL_POSITION,
  COL_CREATED_AT,
  COL_FINISHED_AT,
};

typedef enum
{
  STMT_INSERT,
  STMT_UPDATE,
  STMT_PROGRESS,
  STMT_REMOVE,
  STMT_LOAD,
  STMT_SET_SETTING,
  STMT_DELETE_SETTING,
  STMT_LOAD_SETTINGS,
  N_STMTS
} Stmt;

static const char * const statement_sql[N_STMTS] = {
  [STMT_INSERT] =
    "INSERT INTO downloads (" COLUMNS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
  [STMT_UPDATE] =
    "UPDATE downloads SET uri = ?2, directory = ?3, filename = ?4, state = ?5, error_kind = ?6, "
    "error_message = ?7, http_status = ?8, bytes_received = ?9, bytes_total = ?10, "
    "resume_data = ?11, options = ?12, position = ?13, created_at = ?14, finished_at = ?15 "
    "WHERE id = ?1",
  [STMT_PROGRESS] =
    "UPDATE downloads SET bytes_received = ?2, bytes_total = ?3, resume_data = ?4 WHERE id = ?1",
  [STMT_REMOVE] =
    "DELETE FROM downloads WHERE id = ?1",
  [STMT_LOAD] =
    "SELECT " COLUMNS " FROM downloads ORDER BY position, id",
  [STMT_SET_SETTING] =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  [STMT_DELETE_SETTING] =
    "DELETE FROM settings WHERE key = ?1",
  [STMT_LOAD_SETTINGS] =
    "SELECT key, value FROM settings ORDER BY key",
};

typedef enum
{
  OP_INSERT,
  OP_UPDATE,
  OP_PROGRESS,
  OP_REMOVE,
  OP_SET_SETTING,
  OP_FLUSH,
  OP_LOAD,
  OP_LOAD_SETTINGS,
} OpKind;

/* Lives on the stack of a caller that waits for the worker. */
typedef struct
{
  GMutex     lock;
  GCond      cond;
  gboolean   done;
  GPtrArray *records;   /* load */
  GVariant  *settings;  /* load_settings */
  GPtrArray *warnings;
  GError    *error;
} Waiter;

typedef struct
{
  OpKind         kind;
  gint64         id;
  SlStoreRecord *record;          /* insert, update */
  gint64         bytes_received;  /* progress */
  gint64         bytes_total;     /* progress */
  GBytes        *resume_data;     /* progress */
  char          *key;             /* set_setting */
  GVariant      *value;           /* set_setting: a "v", NULL to delete */
  GTask         *task;            /* flush_async */
  Waiter        *waiter;          /* flush_sync, load, load_settings */
} Op;

typedef enum
{
  EVENT_ERROR,
  EVENT_FLUSHED,
} EventKind;

typedef struct
{
  EventKind  kind;
  GError    *error;
  GTask     *task;
} Event;

typedef enum
{
  OPEN_OK,
  OPEN_DAMAGED,
  OPEN_NEWER,
  OPEN_FAILED,
} OpenResult;

struct _SlStore
{
  GObject        parent_instance;

  char          *path;
  GMainContext  *context;
  GThreadPool   *pool;
  gint64         last_id;           /* main thread only */

  /* Used by the worker only, once open. */
  sqlite3       *db;
  sqlite3_stmt  *stmts[N_STMTS];
  GError        *unreported;        /* first failure since the last flush */

  GMutex         lock;              /* guards the fields below */
  GQueue         queue;             /* of Op */
  GHashTable    *pending_progress;  /* id → queued OP_PROGRESS, for coalescing */
  gboolean       draining;          /* a token is in the pool, or the worker is running */
  GQueue         events;            /* of Event */
  GSource       *event_source;
};

G_DEFINE_FINAL_TYPE (SlStore, sl_store, G_TYPE_OBJECT)

G_DEFINE_QUARK (sl-store-error-quark, sl_store_error)

enum
{
  ERROR,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/**
 * sl_store_record_new:
 *
 * Creates an empty record, with an unknown total size.
 *
 * Returns: (transfer full): a new record
 */
SlStoreRecord *
sl_store_record_new (void)
{
  SlStoreRecord *record = g_new0 (SlStoreRecord, 1);

  record->bytes_total = -1;
  return record;
}

/**
 * sl_store_record_copy:
 * @record: a record
 *
 * Copies @record: strings are duplicated, the resume data and options are shared (both are
 * immutable).
 *
 * Returns: (transfer full): a copy of @record
 */
SlStoreRecord *
sl_store_record_copy (const SlStoreRecord *record)
{
  SlStoreRecord *copy;

  g_return_val_if_fail (record != NULL, NULL);

  copy = g_memdup2 (record, sizeof *record);
  copy->uri = g_strdup (record->uri);
  copy->directory = g_strdup (record->directory);
  copy->filename = g_strdup (record->filename);
  copy->error_message = g_strdup (record->error_message);
  if (record->resume_data != NULL)
    g_bytes_ref (record->resume_data);
  if (record->options != NULL)
    g_variant_ref (record->options);

  return copy;
}

/**
 * sl_store_record_free:
 * @record: (nullable): a record
 *
 * Frees @record and everything it owns.
 */
void
sl_store_record_free (SlStoreRecord *record)
{
  if (record == NULL)
    return;

  g_free (record->uri);
  g_free (record->directory);
  g_free (record->filename);
  g_free (record->error_message);
  g_clear_pointer (&record->resume_data, g_bytes_unref);
  g_clear_pointer (&record->options, g_variant_unref);
  g_free (record);
}

/* The store spells "no error" as "none" (the column's default), where D-Bus has "". */
static const char *
error_kind_to_column (SlErrorKind kind)
{
  return kind == SL_ERROR_KIND_NONE ? "none" : sl_error_kind_to_string (kind);
}

/* Returns why @record cannot be stored, or NULL when it can. The same rules apply to what is
 * written and to what is read back, so a download that was accepted never vanishes on the
 * next start. */
static const char *
check_record (const SlStoreRecord *record)
{
  if (record->uri == NULL || !g_utf8_validate (record->uri, -1, NULL))
    return "no URI, or not UTF-8";
  if (record->directory == NULL || !g_utf8_validate (record->directory, -1, NULL) ||
      !g_path_is_absolute (record->directory))
    return "the folder is not an absolute path";
  if (record->filename != NULL && !sl_filename_is_plain (record->filename))
    return "the file name is not a plain name";
  if ((guint) record->state > SL_DOWNLOAD_STATE_CANCELED)
    return "unknown state";
  if ((guint) record->error_kind > SL_ERROR_KIND_USER)
    return "unknown error kind";
  if (record->http_status > 999)
    return "invalid HTTP status";
  if (record->bytes_received < 0 || record->bytes_total < -1)
    return "negative size";
  if (record->created_at < 0 || record->finished_at < 0)
    return "negative time";
  if (record->options != NULL && !g_variant_is_of_type (record->options, G_VARIANT_TYPE_VARDICT))
    return "the options are not a{sv}";

  return NULL;
}

/* Returns why @key cannot name a setting, or NULL when it can; like check_record(), for what
 * is written and what is read back. A key is logged when its row is damaged, so it must fit
 * on one line. */
static const char *
check_setting_key (const char *key)
{
  if (key == NULL)
    return "no key";
  if (*key == '\0')
    return "the key is empty";
  if (!g_utf8_validate (key, -1, NULL))
    return "the key is not UTF-8";
  for (const char *p = key; *p != '\0'; p++)
    {
      if (g_ascii_iscntrl (*p))
        return "the key holds a control character";
    }

  return NULL;
}

static void
waiter_init (Waiter *waiter)
{
  memset (waiter, 0, sizeof *waiter);
  g_mutex_init (&waiter->lock);
  g_cond_init (&waiter->cond);
}

static void
waiter_wait (Waiter *waiter)
{
  g_mutex_lock (&waiter->lock);
  while (!waiter->done)
    g_cond_wait (&waiter->cond, &waiter->lock);
  g_mutex_unlock (&waiter->lock);

  g_mutex_clear (&waiter->lock);
  g_cond_clear (&waiter->cond);
}

/* After this, the waiter belongs to its caller again. */
static void
waiter_wake (Waiter *waiter)
{
  g_mutex_lock (&waiter->lock);
  waiter->done = TRUE;
  g_cond_signal (&waiter->cond);
  g_mutex_unlock (&waiter->lock);
}

static Op *
op_new (OpKind kind,
        gint64 id)
{
  Op *op = g_new0 (Op, 1);

  op->kind = kind;
  op->id = id;
  return op;
}

static void
op_free (Op *op)
{
  sl_store_record_free (op->record);
  g_clear_pointer (&op->resume_data, g_bytes_unref);
  g_free (op->key);
  g_clear_pointer (&op->value, g_variant_unref);
  g_clear_object (&op->task);
  g_free (op);
}

static void
event_free (Event *event)
{
  g_clear_error (&event->error);
  g_clear_object (&event->task);
  g_free (event);
}

static void
set_sqlite_error (GError    **error,
                  sqlite3    *db,
                  int         rc,
                  const char *what)
{
  int code = (rc & 0xff) == SQLITE_FULL ? SL_STORE_ERROR_NO_SPACE : SL_STORE_ERROR_FAILED;

  g_set_error (error, SL_STORE_ERROR, code, "%s: %s", what,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
}

/* Worker side ------------------------------------------------------------------------------ */

static void
complete_flush (SlStore *self,
                GTask   *task,
                GError  *error)
{
  if (error != NULL)
    g_task_return_error (task, error);
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_boolean (task, TRUE);
}

static gboolean
deliver_events (gpointer user_data)
{
  g_autoptr (SlStore) self = g_object_ref (user_data);
  GQueue events;
  Event *event;

  g_mutex_lock (&self->lock);
  events = self->events;
  g_queue_init (&self->events);
  g_clear_pointer (&self->event_source, g_source_unref);
  g_mutex_unlock (&self->lock);

  while ((event = g_queue_pop_head (&events)) != NULL)
    {
      if (event->kind == EVENT_ERROR)
        g_signal_emit (self, signals[ERROR], 0, event->error);
      else
        complete_flush (self, event->task, g_steal_pointer (&event->error));
      event_free (event);
    }

  return G_SOURCE_REMOVE;
}

static void
post_event (SlStore   *self,
            EventKind  kind,
            GError    *error,
            GTask     *task)
{
  Event *event = g_new0 (Event, 1);

  event->kind = kind;
  event->error = error;
  event->task = task;

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->events, event);
  if (self->event_source == NULL)
    {
      self->event_source = g_idle_source_new ();
      g_source_set_priority (self->event_source, G_PRIORITY_DEFAULT);
      g_source_set_callback (self->event_source, deliver_events, self, NULL);
      g_source_set_static_name (self->event_source, "[sluice] store events");
      g_source_attach (self->event_source, self->context);
    }
  g_mutex_unlock (&self->lock);
}

static void
report_error (SlStore *self,
              GError  *error)
{
  if (self->unreported == NULL)
    self->unreported = g_error_copy (error);
  post_event (self, EVENT_ERROR, error, NULL);
}

static int
bind_text (sqlite3_stmt *stmt,
           int           index,
           const char   *text)
{
  if (text == NULL)
    return sqlite3_bind_null (stmt, index);
  return sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
}

/* A garbled message is worth less than the download it belongs to: it is stored, and read
 * back, made valid rather than refused. */
static int
bind_message (sqlite3_stmt *stmt,
              int           index,
              const char   *message)
{
  g_autofree char *valid = NULL;

  if (message == NULL || g_utf8_validate (message, -1, NULL))
    return bind_text (stmt, index, message);

  valid = g_utf8_make_valid (message, -1);
  return bind_text (stmt, index, valid);
}

static int
bind_blob (sqlite3_stmt  *stmt,
           int            index,
           gconstpointer  data,
           gsize          size)
{
  /* An empty GBytes or a{sv} may have no data pointer, which SQLite would store as NULL:
   * an empty blob must stay an empty blob. */
  if (size == 0)
    return sqlite3_bind_zeroblob (stmt, index, 0);
  return sqlite3_bind_blob64 (stmt, index, data, size, SQLITE_TRANSIENT);
}

static int
bind_bytes (sqlite3_stmt *stmt,
            int           index,
            GBytes       *bytes)
{
  gconstpointer data;
  gsize size;

  if (bytes == NULL)
    return sqlite3_bind_null (stmt, index);

  data = g_bytes_get_data (bytes, &size);
  return bind_blob (stmt, index, data, size);
}

static int
bind_variant (sqlite3_stmt *stmt,
              int           index,
              GVariant     *variant)
{
  g_autoptr (GVariant) normal = NULL;

  if (variant == NULL)
    return sqlite3_bind_null (stmt, index);

  /* Only the normal form is read back, so only the normal form is written. */
  normal = g_variant_get_normal_form (variant);
  return bind_blob (stmt, index, g_variant_get_data (normal), g_variant_get_size (normal));
}

static int
bind_record (sqlite3_stmt        *stmt,
             const SlStoreRecord *record)
{
  int rc = SQLITE_OK;

#define BIND(call) G_STMT_START { if (rc == SQLITE_OK) rc = (call); } G_STMT_END
  BIND (sqlite3_bind_int64 (stmt, COL_ID + 1, record->id));
  BIND (bind_text (stmt, COL_URI + 1, record->uri));
  BIND (bind_text (stmt, COL_DIRECTORY + 1, record->directory));
  BIND (bind_text (stmt, COL_FILENAME + 1, record->filename));
  BIND (bind_text (stmt, COL_STATE + 1, sl_download_state_to_string (record->state)));
  BIND (bind_text (stmt, COL_ERROR_KIND + 1, error_kind_to_column (record->error_kind)));
  BIND (bind_message (stmt, COL_ERROR_MESSAGE + 1, record->error_message));
  BIND (sqlite3_bind_int64 (stmt, COL_HTTP_STATUS + 1, record->http_status));
  BIND (sqlite3_bind_int64 (stmt, COL_BYTES_RECEIVED + 1, record->bytes_received));
  BIND (sqlite3_bind_int64 (stmt, COL_BYTES_TOTAL + 1, record->bytes_total));
  BIND (bind_bytes (stmt, COL_RESUME_DATA + 1, record->resume_data));
  BIND (bind_variant (stmt, COL_OPTIONS + 1, record->options));
  BIND (sqlite3_bind_int64 (stmt, COL_POSITION + 1, record->position));
  BIND (sqlite3_bind_int64 (stmt, COL_CREATED_AT + 1, record->created_at));
  BIND (sqlite3_bind_int64 (stmt, COL_FINISHED_AT + 1, record->finished_at));
#undef BIND

  return rc;
}

static gboolean
run_write (SlStore  *self,
           Op       *op,
           GError  **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = SQLITE_OK;

  switch (op->kind)
    {
    case OP_INSERT:
    case OP_UPDATE:
      stmt = self->stmts[op->kind == OP_INSERT ? STMT_INSERT : STMT_UPDATE];
      rc = bind_record (stmt, op->record);
      break;

    case OP_PROGRESS:
      stmt = self->stmts[STMT_PROGRESS];
      rc = sqlite3_bind_int64 (stmt, 1, op->id);
      if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64 (stmt, 2, op->bytes_received);
      if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64 (stmt, 3, op->bytes_total);
      if (rc == SQLITE_OK)
        rc = bind_bytes (stmt, 4, op->resume_data);
      break;

    case OP_REMOVE:
      stmt = self->stmts[STMT_REMOVE];
      rc = sqlite3_bind_int64 (stmt, 1, op->id);
      break;

    case OP_SET_SETTING:
      stmt = self->stmts[op->value != NULL ? STMT_SET_SETTING : STMT_DELETE_SETTING];
      rc = bind_text (stmt, 1, op->key);
      if (rc == SQLITE_OK && op->value != NULL)
        rc = bind_variant (stmt, 2, op->value);
      break;

    case OP_FLUSH:
    case OP_LOAD:
    case OP_LOAD_SETTINGS:
    default:
      g_assert_not_reached ();
    }

  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE && op->kind == OP_SET_SETTING)
    {
      /* Settings have no name for people; the file they could not be written to does. */
      g_autofree char *display = g_filename_display_name (self->path);
      g_autofree char *what = g_strdup_printf ("%s “%s”", _("Cannot write to"), display);

      g_debug ("Cannot save the setting “%s”: %s", op->key, sqlite3_errmsg (self->db));
      set_sqlite_error (error, self->db, rc, what);
    }
  else if (rc != SQLITE_DONE)
    {
      g_autofree char *number = g_strdup_printf ("%" G_GINT64_FORMAT, op->id);
      g_autofree char *what = g_strdup_printf (_("Cannot save download %s"), number);

      set_sqlite_error (error, self->db, rc, what);
    }

  /* Bindings are copies (SQLITE_TRANSIENT); clearing them only frees those copies early. */
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);

  return rc == SQLITE_DONE;
}

static int
exec (sqlite3    *db,
      const char *sql)
{
  return sqlite3_exec (db, sql, NULL, NULL, NULL);
}

static void
run_writes (SlStore   *self,
            GPtrArray *writes)
{
  g_autoptr (GError) first_error = NULL;
  guint failures = 0;

  if (writes->len == 0)
    return;

  /* One transaction for everything that was waiting: one commit instead of one per row. */
  if (writes->len > 1 && exec (self->db, "BEGIN IMMEDIATE") == SQLITE_OK)
    {
      gboolean ok = TRUE;

      for (guint i = 0; ok && i < writes->len; i++)
        ok = run_write (self, g_ptr_array_index (writes, i), NULL);

      if (ok && exec (self->db, "COMMIT") == SQLITE_OK)
        {
          g_ptr_array_set_size (writes, 0);
          return;
        }

      if (!sqlite3_get_autocommit (self->db))
        exec (self->db, "ROLLBACK");
    }

  /* One at a time, so that an operation that cannot be written does not take the others with
   * it. Only the first failure is reported: on a full disk they all fail the same way. */
  for (guint i = 0; i < writes->len; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!run_write (self, g_ptr_array_index (writes, i), &error))
        {
          failures++;
          if (first_error == NULL)
            first_error = g_steal_pointer (&error);
        }
    }

  if (first_error != NULL)
    {
      g_debug ("%u of %u operations on the download list failed", failures, writes->len);
      report_error (self, g_steal_pointer (&first_error));
    }

  g_ptr_array_set_size (writes, 0);
}

/* Reads a text column that must hold text (or NULL, where @nullable) in UTF-8. */
static gboolean
column_text (sqlite3_stmt  *stmt,
             int            column,
             gboolean       nullable,
             char         **out)
{
  const char *text;

  switch (sqlite3_column_type (stmt, column))
    {
    case SQLITE_NULL:
      *out = NULL;
      return nullable;

    case SQLITE_TEXT:
      text = (const char *) sqlite3_column_text (stmt, column);
      if (text == NULL || !g_utf8_validate (text, sqlite3_column_bytes (stmt, column), NULL))
        return FALSE;
      *out = g_strndup (text, sqlite3_column_bytes (stmt, column));
      return TRUE;

    default:
      return FALSE;
    }
}

static gboolean
column_int (sqlite3_stmt *stmt,
            int           column,
            gint64       *out)
{
  if (sqlite3_column_type (stmt, column) != SQLITE_INTEGER)
    return FALSE;

  *out = sqlite3_column_int64 (stmt, column);
  return TRUE;
}

static gboolean
column_bytes (sqlite3_stmt  *stmt,
              int            column,
              GBytes       **out)
{
  switch (sqlite3_column_type (stmt, column))
    {
    case SQLITE_NULL:
      *out = NULL;
      return TRUE;

    case SQLITE_BLOB:
      /* Copied: SQLite's buffer only lives until the next step. */
      *out = g_bytes_new (sqlite3_column_blob (stmt, column), sqlite3_column_bytes (stmt, column));
      return TRUE;

    default:
      return FALSE;
    }
}

static gboolean
column_state (sqlite3_stmt    *stmt,
              int              column,
              SlDownloadState *out)
{
  g_autofree char *name = NULL;

  return column_text (stmt, column, FALSE, &name) && sl_download_state_from_string (name, out);
}

static gboolean
column_error_kind (sqlite3_stmt *stmt,
                   int           column,
                   SlErrorKind  *out)
{
  g_autofree char *name = NULL;

  if (!column_text (stmt, column, FALSE, &name))
    return FALSE;
  if (g_str_equal (name, "none"))
    {
      *out = SL_ERROR_KIND_NONE;
      return TRUE;
    }
  return *name != '\0' && sl_error_kind_from_string (name, out);
}

/* Builds a record from the current row, or returns NULL and says why in @reason. */
static SlStoreRecord *
record_from_row (sqlite3_stmt  *stmt,
                 gint64         id,
                 GPtrArray     *warnings,
                 char         **reason)
{
  g_autoptr (SlStoreRecord) record = sl_store_record_new ();
  g_autoptr (GBytes) options = NULL;
  gint64 status = 0;
  SlDownloadState state = SL_DOWNLOAD_STATE_QUEUED;
  SlErrorKind error_kind = SL_ERROR_KIND_NONE;
  const char *problem = NULL;

  record->id = id;

  if (!column_text (stmt, COL_URI, FALSE, &record->uri))
    *reason = g_strdup ("no URI, or not UTF-8");
  else if (!column_text (stmt, COL_DIRECTORY, FALSE, &record->directory))
    *reason = g_strdup ("no folder, or not UTF-8");
  else if (!column_text (stmt, COL_FILENAME, TRUE, &record->filename))
    *reason = g_strdup ("the file name is not UTF-8");
  else if (!column_state (stmt, COL_STATE, &state))
    *reason = g_strdup_printf ("unknown state “%s”", sqlite3_column_text (stmt, COL_STATE));
  else if (!column_error_kind (stmt, COL_ERROR_KIND, &error_kind))
    *reason = g_strdup_printf ("unknown error kind “%s”",
                               sqlite3_column_text (stmt, COL_ERROR_KIND));
  else if (!column_int (stmt, COL_HTTP_STATUS, &status) || status < 0 || status > 999)
    *reason = g_strdup ("invalid HTTP status");
  else if (!column_int (stmt, COL_BYTES_RECEIVED, &record->bytes_received) ||
           !column_int (stmt, COL_BYTES_TOTAL, &record->bytes_total) ||
           !column_int (stmt, COL_POSITION, &record->position) ||
           !column_int (stmt, COL_CREATED_AT, &record->created_at) ||
           !column_int (stmt, COL_FINISHED_AT, &record->finished_at))
    *reason = g_strdup ("a number is missing");
  else if (!column_bytes (stmt, COL_RESUME_DATA, &record->resume_data) ||
           !column_bytes (stmt, COL_OPTIONS, &options))
    *reason = g_strdup ("a blob is not a blob");

  if (*reason != NULL)
    return NULL;

  if (sqlite3_column_type (stmt, COL_ERROR_MESSAGE) == SQLITE_TEXT)
    record->error_message = g_utf8_make_valid ((const char *) sqlite3_column_text (stmt,
                                                                                   COL_ERROR_MESSAGE),
                                               sqlite3_column_bytes (stmt, COL_ERROR_MESSAGE));

  record->state = state;
  record->error_kind = error_kind;
  record->http_status = status;

  problem = check_record (record);
  if (problem != NULL)
    {
      *reason = g_strdup (problem);
      return NULL;
    }

  if (options != NULL)
    {
      g_autoptr (GVariant) variant =
        g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, options, FALSE));

      if (g_variant_is_normal_form (variant))
        record->options = g_steal_pointer (&variant);
      else
        g_ptr_array_add (warnings,
                         g_strdup_printf ("Ignoring the options of download %" G_GINT64_FORMAT
                                          " in the download list: not a valid a{sv}", id));
    }

  return g_steal_pointer (&record);
}

static void
run_load (SlStore *self,
          Waiter  *waiter)
{
  sqlite3_stmt *stmt = self->stmts[STMT_LOAD];
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) sl_store_record_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, COL_ID);
      g_autofree char *reason = NULL;
      SlStoreRecord *record = record_from_row (stmt, id, waiter->warnings, &reason);

      if (record != NULL)
        g_ptr_array_add (records, record);
      else
        g_ptr_array_add (waiter->warnings,
                         g_strdup_printf ("Skipping download %" G_GINT64_FORMAT
                                          " in the download list: %s", id, reason));
    }

  if (rc != SQLITE_DONE)
    set_sqlite_error (&waiter->error, self->db, rc, _("Cannot read the download list"));
  else
    waiter->records = g_steal_pointer (&records);

  sqlite3_reset (stmt);
}

/* Says which setting of the current row is skipped, on one line whatever the key holds:
 * control characters are escaped as in C, and text that is not UTF-8 is made valid. */
static char *
skipped_setting_warning (sqlite3_stmt *stmt,
                         const char   *reason)
{
  const char *text = (const char *) sqlite3_column_text (stmt, 0);
  g_autofree char *valid = NULL;
  g_autofree char *key = NULL;
  char non_ascii[129];

  if (text == NULL)
    return g_strdup_printf ("Skipping a setting without a key in the download list: %s", reason);

  /* g_strescape() would also escape every byte of a non-ASCII character. */
  for (guint i = 0; i < 128; i++)
    non_ascii[i] = (char) (0x80 + i);
  non_ascii[128] = '\0';

  valid = g_utf8_make_valid (text, sqlite3_column_bytes (stmt, 0));
  key = g_strescape (valid, non_ascii);

  return g_strdup_printf ("Skipping setting “%s” in the download list: %s", key, reason);
}

static void
run_load_settings (SlStore *self,
                   Waiter  *waiter)
{
  sqlite3_stmt *stmt = self->stmts[STMT_LOAD_SETTINGS];
  GVariantBuilder builder;
  int rc;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autofree char *key = NULL;
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (GVariant) value = NULL;
      const char *reason = NULL;

      if (!column_text (stmt, 0, FALSE, &key))
        reason = "no key, or not UTF-8";
      else
        reason = check_setting_key (key);

      if (reason == NULL &&
          (sqlite3_column_type (stmt, 1) != SQLITE_BLOB || !column_bytes (stmt, 1, &bytes)))
        reason = "the value is not a blob";

      if (reason == NULL)
        {
          /* Untrusted: the bytes come from a file, and only a value in normal form is known to
           * be what was written rather than GVariant's best guess at garbage. */
          value = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARIANT, bytes,
                                                                FALSE));
          if (!g_variant_is_normal_form (value))
            reason = "the value is not a serialized GVariant of type v";
        }

      if (reason == NULL)
        g_variant_builder_add (&builder, "{s@v}", key, value);
      else
        g_ptr_array_add (waiter->warnings, skipped_setting_warning (stmt, reason));
    }

  if (rc != SQLITE_DONE)
    {
      set_sqlite_error (&waiter->error, self->db, rc, _("Cannot read the download list"));
      g_variant_builder_clear (&builder);
    }
  else
    {
      waiter->settings = g_variant_ref_sink (g_variant_builder_end (&builder));
    }

  sqlite3_reset (stmt);
}

static void
run_batch (SlStore *self,
           GQueue  *batch)
{
  g_autoptr (GPtrArray) writes = g_ptr_array_new_with_free_func ((GDestroyNotify) op_free);
  Op *op;

  while ((op = g_queue_pop_head (batch)) != NULL)
    {
      switch (op->kind)
        {
        case OP_FLUSH:
          /* Everything before the flush is committed before the flush completes. */
          run_writes (self, writes);
          if (op->waiter != NULL)
            {
              op->waiter->error = g_steal_pointer (&self->unreported);
              waiter_wake (op->waiter);
            }
          else
            {
              post_event (self, EVENT_FLUSHED, g_steal_pointer (&self->unreported),
                          g_steal_pointer (&op->task));
            }
          op_free (op);
          break;

        case OP_LOAD:
        case OP_LOAD_SETTINGS:
          run_writes (self, writes);
          if (op->kind == OP_LOAD)
            run_load (self, op->waiter);
          else
            run_load_settings (self, op->waiter);
          waiter_wake (op->waiter);
          op_free (op);
          break;

        case OP_INSERT:
        case OP_UPDATE:
        case OP_PROGRESS:
        case OP_REMOVE:
        case OP_SET_SETTING:
        default:
          g_ptr_array_add (writes, op);
          break;
        }
    }

  run_writes (self, writes);
}

static void
drain_queue (gpointer data,
             gpointer user_data)
{
  SlStore *self = user_data;

  for (;;)
    {
      GQueue batch;

      g_mutex_lock (&self->lock);
      batch = self->queue;
      g_queue_init (&self->queue);
      /* The stolen operations are out of reach now: later progress starts a new one. */
      g_hash_table_remove_all (self->pending_progress);
      if (batch.length == 0)
        {
          self->draining = FALSE;
          g_mutex_unlock (&self->lock);
          return;
        }
      g_mutex_unlock (&self->lock);

      run_batch (self, &batch);
    }
}

/* Opening ---------------------------------------------------------------------------------- */

static void
close_database (SlStore *self)
{
  for (guint i = 0; i < N_STMTS; i++)
    g_clear_pointer (&self->stmts[i], sqlite3_finalize);

  if (self->db != NULL)
    {
      int rc = sqlite3_close (self->db);

      if (rc != SQLITE_OK)
        g_warning ("Cannot close the download list “%s”: %s", self->path, sqlite3_errstr (rc));
      self->db = NULL;
    }
}

/* Sorts a failure while opening: damage is repaired by starting afresh, anything else (no
 * permission, a locked or unreadable file) is not ours to throw away. With @schema, a plain
 * SQL error means the tables do not match their version, which is damage too. */
static OpenResult
open_failed (SlStore    *self,
             int         rc,
             gboolean    schema,
             GError    **error)
{
  g_autofree char *display = g_filename_display_name (self->path);
  g_autofree char *what = g_strdup_printf (_("Cannot open the download list “%s”"), display);

  g_set_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN, "%s: %s", what,
               self->db != NULL ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));

  switch (rc & 0xff)
    {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return OPEN_DAMAGED;

    case SQLITE_ERROR:
      return schema ? OPEN_DAMAGED : OPEN_FAILED;

    default:
      return OPEN_FAILED;
    }
}

static int
query_int (sqlite3    *db,
           const char *sql,
           gint64     *out)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  *out = 0;
  rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return rc;

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *out = sqlite3_column_int64 (stmt, 0);
      rc = SQLITE_OK;
    }
  else if (rc == SQLITE_DONE)
    {
      rc = SQLITE_OK;
    }

  sqlite3_finalize (stmt);
  return rc;
}

/* quick_check answers one row "ok", or rows describing the damage. */
static int
quick_check (sqlite3  *db,
             char    **problem)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  *problem = NULL;
  rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return rc;

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      const char *answer = (const char *) sqlite3_column_text (stmt, 0);

      if (g_strcmp0 (answer, "ok") != 0)
        *problem = g_strdup (answer != NULL ? answer : "no answer");
      rc = SQLITE_OK;
    }

  sqlite3_finalize (stmt);
  return rc;
}

static int
migrate (sqlite3 *db,
         gint64   from)
{
  for (gint64 version = from; version < (gint64) G_N_ELEMENTS (migrations); version++)
    {
      /* PRAGMA takes no parameters; the number comes from this table, not from outside. */
      g_autofree char *sql =
        g_strdup_printf ("BEGIN IMMEDIATE; %s PRAGMA user_version = %" G_GINT64_FORMAT "; COMMIT;",
                         migrations[version], version + 1);
      int rc = exec (db, sql);

      if (rc != SQLITE_OK)
        {
          if (!sqlite3_get_autocommit (db))
            exec (db, "ROLLBACK");
          return rc;
        }
    }

  return SQLITE_OK;
}

static OpenResult
open_database (SlStore  *self,
               GError  **error)
{
  g_autofree char *problem = NULL;
  gint64 version = 0;
  gint64 max_id = 0;
  gint64 sequence = 0;
  int rc;

  rc = sqlite3_open_v2 (self->path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                        SQLITE_OPEN_EXRESCODE,
                        NULL);
  if (rc != SQLITE_OK)
    return open_failed (self, rc, FALSE, error);

  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);

  /* The first read of the file: something that is not a database fails here. */
  rc = query_int (self->db, "PRAGMA user_version", &version);
  if (rc != SQLITE_OK)
    return open_failed (self, rc, FALSE, error);

  rc = quick_check (self->db, &problem);
  if (rc != SQLITE_OK)
    return open_failed (self, rc, FALSE, error);
  if (problem != NULL)
    {
      g_set_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN,
                   "quick_check: %s", problem);
      return OPEN_DAMAGED;
    }

  if (version > (gint64) G_N_ELEMENTS (migrations) || version < 0)
    {
      g_set_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN,
                   "schema version %" G_GINT64_FORMAT ", this code knows up to %u",
                   version, (guint) G_N_ELEMENTS (migrations));
      return OPEN_NEWER;
    }

  /* synchronous=NORMAL: in WAL mode a commit survives a crash or kill -9 of the daemon and the
   * database is never corrupted; only a power loss or a kernel crash may undo the last few
   * commits. That is safe because a download fdatasyncs its partial file before it records
   * the progress: an undone commit leaves bytes_received *behind* what is on disk, and the
   * download resumes from there, fetching a little again. The database is never ahead of the
   * data. FULL would add an fsync to every commit of every checkpoint of every download for
   * nothing that matters. */
  rc = exec (self->db,
             "PRAGMA journal_mode = WAL;"
             "PRAGMA synchronous = NORMAL;"
             "PRAGMA foreign_keys = ON;");
  if (rc != SQLITE_OK)
    return open_failed (self, rc, FALSE, error);

  rc = migrate (self->db, version);
  if (rc != SQLITE_OK)
    return open_failed (self, rc, TRUE, error);

  for (guint i = 0; i < N_STMTS; i++)
    {
      rc = sqlite3_prepare_v3 (self->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &self->stmts[i], NULL);
      if (rc != SQLITE_OK)
        return open_failed (self, rc, TRUE, error);
    }

  /* AUTOINCREMENT remembers the highest id ever used, so removing the newest download does
   * not give its id (and its D-Bus object path) to the next one. */
  rc = query_int (self->db, "SELECT MAX(id) FROM downloads", &max_id);
  if (rc == SQLITE_OK)
    rc = query_int (self->db, "SELECT seq FROM sqlite_sequence WHERE name = 'downloads'",
                    &sequence);
  if (rc != SQLITE_OK)
    return open_failed (self, rc, TRUE, error);

  self->last_id = MAX (max_id, sequence);

  return OPEN_OK;
}

/* Moves @path and the files SQLite keeps beside it to PATH.corrupt-STAMP, so that a fresh
 * database can take its place. The journal files must go too: a fresh database would
 * otherwise replay the old WAL or roll back the old journal into itself. They keep their
 * suffixes, so the moved copy still opens with its WAL. */
static char *
move_aside (const char  *path,
            GError     **error)
{
  static const char * const suffixes[] = { "", "-wal", "-shm", "-journal" };
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *aside = NULL;

  for (guint n = 1; aside == NULL && n <= MAX_ASIDE_NAMES; n++)
    {
      g_autofree char *candidate = n == 1
        ? g_strdup_printf ("%s.corrupt-%s", path, stamp)
        : g_strdup_printf ("%s.corrupt-%s.%u", path, stamp, n);

      if (!g_file_test (candidate, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
        aside = g_steal_pointer (&candidate);
    }

  for (guint i = 0; aside != NULL && i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (aside, suffixes[i], NULL);

      if (g_rename (from, to) < 0 && (errno != ENOENT || i == 0))
        {
          int saved_errno = errno;
          g_autofree char *display = g_filename_display_name (from);

          g_set_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN,
                       _("Cannot move the damaged download list “%s” aside: %s"),
                       display, g_strerror (saved_errno));
          return NULL;
        }
    }

  if (aside == NULL)
    g_set_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN,
                 _("Cannot find a free name to move the damaged download list aside"));

  return g_steal_pointer (&aside);
}

/**
 * sl_store_open:
 * @path: the database file; its folder is created (mode 0700) if needed
 * @recovery_message: (out) (optional) (nullable): set when the file had to be replaced
 * @error: return location for a #GError
 *
 * Opens the download list, creating or upgrading it as needed. A file that is not a database,
 * fails SQLite's quick check, or comes from a newer version of Sluice is moved aside to
 * `PATH.corrupt-YYYYMMDD-HHMMSS` (with its `-wal` and `-shm`), and an empty list takes its
 * place; @recovery_message then gets one translated line, for the log, that says so and where
 * the old file went. Nothing is moved aside for other failures, such as a locked file or
 * missing permission.
 *
 * The store must be used from the thread that opened it, whose thread-default main context
 * receives its #SlStore::error signals.
 *
 * Returns: (transfer full) (nullable): the store, or %NULL if not even an empty database can be
 *   created
 */
SlStore *
sl_store_open (const char  *path,
               char       **recovery_message,
               GError     **error)
{
  g_autoptr (SlStore) self = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *aside = NULL;
  OpenResult result;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (recovery_message != NULL)
    *recovery_message = NULL;

  if (sqlite3_threadsafe () == 0)
    {
      g_set_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN,
                   _("SQLite was built without thread support"));
      return NULL;
    }

  folder = g_path_get_dirname (path);
  if (g_mkdir_with_parents (folder, 0700) < 0)
    {
      int saved_errno = errno;
      g_autofree char *display = g_filename_display_name (folder);

      g_set_error (error, SL_STORE_ERROR, SL_STORE_ERROR_CANNOT_OPEN,
                   _("Cannot create the folder “%s”: %s"), display, g_strerror (saved_errno));
      return NULL;
    }

  self = g_object_new (SL_TYPE_STORE, NULL);
  self->path = g_strdup (path);

  result = open_database (self, &local_error);
  if (result == OPEN_DAMAGED || result == OPEN_NEWER)
    {
      g_autofree char *display = g_filename_display_name (path);
      g_autofree char *display_aside = NULL;

      g_debug ("Replacing the download list “%s”: %s", path, local_error->message);
      g_clear_error (&local_error);
      close_database (self);

      aside = move_aside (path, error);
      if (aside == NULL)
        return NULL;
      display_aside = g_filename_display_name (aside);

      if (open_database (self, &local_error) != OPEN_OK)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }

      if (recovery_message != NULL && result == OPEN_NEWER)
        *recovery_message =
          g_strdup_printf (_("The download list “%s” was written by a newer version of Sluice; "
                             "it was moved to “%s” and an empty list was started"),
                           display, display_aside);
      else if (recovery_message != NULL)
        *recovery_message =
          g_strdup_printf (_("The download list “%s” was damaged or not a database; "
                             "it was moved to “%s” and an empty list was started"),
                           display, display_aside);
    }
  else if (result == OPEN_FAILED)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  self->context = g_main_context_ref_thread_default ();
  self->pool = g_thread_pool_new (drain_queue, self, 1, FALSE, NULL);

  return g_steal_pointer (&self);
}

/* Main thread side ------------------------------------------------------------------------- */

/* Called with the lock held. Returns whether the worker must be woken, once unlocked. */
static gboolean
queue_op_locked (SlStore *self,
                 Op      *op)
{
  gboolean wake = !self->draining;

  /* A progress update queued before a full update or a removal must not be changed in place
   * afterwards: that would move its values before the later operation. */
  if (op->kind == OP_UPDATE || op->kind == OP_REMOVE)
    g_hash_table_remove (self->pending_progress, &op->id);
  if (op->kind == OP_PROGRESS)
    g_hash_table_insert (self->pending_progress, &op->id, op);

  g_queue_push_tail (&self->queue, op);
  self->draining = TRUE;

  return wake;
}

static void
wake_worker (SlStore *self)
{
  /* The token carries nothing: the worker takes whatever the queue holds. */
  g_thread_pool_push (self->pool, GINT_TO_POINTER (1), NULL);
}

static void
queue_op (SlStore *self,
          Op      *op)
{
  gboolean wake;

  g_mutex_lock (&self->lock);
  wake = queue_op_locked (self, op);
  g_mutex_unlock (&self->lock);

  if (wake)
    wake_worker (self);
}

static void
sl_store_dispose (GObject *object)
{
  SlStore *self = (SlStore *) object;
  GQueue events;
  Event *event;

  /* Writes everything still queued, then waits for the worker, before closing. */
  if (self->pool != NULL)
    g_thread_pool_free (g_steal_pointer (&self->pool), FALSE, TRUE);
  close_database (self);

  g_mutex_lock (&self->lock);
  if (self->event_source != NULL)
    {
      g_source_destroy (self->event_source);
      g_clear_pointer (&self->event_source, g_source_unref);
    }
  events = self->events;
  g_queue_init (&self->events);
  g_mutex_unlock (&self->lock);

  /* No one can listen any more, but a lost write must not go unnoticed. */
  while ((event = g_queue_pop_head (&events)) != NULL)
    {
      if (event->kind == EVENT_ERROR)
        g_warning ("%s", event->error->message);
      else
        complete_flush (self, event->task, g_steal_pointer (&event->error));
      event_free (event);
    }

  G_OBJECT_CLASS (sl_store_parent_class)->dispose (object);
}

static void
sl_store_finalize (GObject *object)
{
  SlStore *self = (SlStore *) object;

  g_queue_clear_full (&self->queue, (GDestroyNotify) op_free);
  g_hash_table_unref (self->pending_progress);
  g_clear_error (&self->unreported);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->path);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (sl_store_parent_class)->finalize (object);
}

static void
sl_store_class_init (SlStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sl_store_dispose;
  object_class->finalize = sl_store_finalize;

  /**
   * SlStore::error:
   * @self: the store
   * @error: what went wrong, in the %SL_STORE_ERROR domain
   *
   * Emitted on the main context the store was opened in when queued writes could not be
   * saved (disk full, I/O error). The operations that failed are lost; the store goes on
   * with the next ones. One failing batch emits it once.
   */
  signals[ERROR] =
    g_signal_new ("error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
sl_store_init (SlStore *self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->queue);
  g_queue_init (&self->events);
  self->pending_progress = g_hash_table_new (g_int64_hash, g_int64_equal);
}

/* Queues a read and waits for it; @waiter holds its result afterwards. */
static void
run_read (SlStore *self,
          OpKind   kind,
          Waiter  *waiter)
{
  Op *op;

  waiter_init (waiter);
  waiter->warnings = g_ptr_array_new_with_free_func (g_free);

  op = op_new (kind, 0);
  op->waiter = waiter;
  queue_op (self, op);
  waiter_wait (waiter);

  /* Logged here rather than on the worker, so they come from the caller's thread. */
  for (guint i = 0; i < waiter->warnings->len; i++)
    g_warning ("%s", (const char *) g_ptr_array_index (waiter->warnings, i));
  g_clear_pointer (&waiter->warnings, g_ptr_array_unref);
}

/**
 * sl_store_load:
 * @self: a store
 * @error: return location for a #GError
 *
 * Reads every download, after everything queued before is written. This blocks until it is
 * done, which is meant for startup, when there is nothing else to do. A row that does not make
 * sense (an unknown state, a negative size, no URI, …) is skipped with a warning naming its
 * id; options that are not a valid `a{sv}` are dropped with a warning. The resume data is
 * returned as it was stored, for the caller to validate.
 *
 * Returns: (transfer full) (element-type SlStoreRecord): the downloads ordered by position,
 *   then id, or %NULL on error
 */
GPtrArray *
sl_store_load (SlStore  *self,
               GError  **error)
{
  Waiter waiter;

  g_return_val_if_fail (SL_IS_STORE (self), NULL);
  g_return_val_if_fail (self->pool != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  run_read (self, OP_LOAD, &waiter);
  if (waiter.error != NULL)
    {
      g_propagate_error (error, waiter.error);
      return NULL;
    }

  return waiter.records;
}

/**
 * sl_store_load_settings:
 * @self: a store
 * @error: return location for a #GError
 *
 * Reads every setting, after everything queued before is written. Like sl_store_load(), this
 * blocks until it is done. A row that does not make sense (a key that sl_store_set_setting()
 * would refuse, a value that is not a serialized `v` in normal form) is skipped with a warning
 * naming its key, and the other settings are still returned. Each value comes back with the
 * type it was stored with, for the caller to check.
 *
 * Returns: (transfer full): an `a{sv}` of the settings ordered by key, empty when there are
 *   none, or %NULL on error
 */
GVariant *
sl_store_load_settings (SlStore  *self,
                        GError  **error)
{
  Waiter waiter;

  g_return_val_if_fail (SL_IS_STORE (self), NULL);
  g_return_val_if_fail (self->pool != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  run_read (self, OP_LOAD_SETTINGS, &waiter);
  if (waiter.error != NULL)
    {
      g_propagate_error (error, waiter.error);
      return NULL;
    }

  return waiter.settings;
}

/**
 * sl_store_insert:
 * @self: a store
 * @record: a new download; its @id is set
 *
 * Assigns @record the next id, which is never one used before in this database, and queues
 * writing it. The id is known at once; the row is written later, on the store's thread.
 */
void
sl_store_insert (SlStore       *self,
                 SlStoreRecord *record)
{
  const char *problem;
  Op *op;

  g_return_if_fail (SL_IS_STORE (self));
  g_return_if_fail (self->pool != NULL);
  g_return_if_fail (record != NULL);

  problem = check_record (record);
  if (problem != NULL)
    {
      g_critical ("%s: invalid record: %s", G_STRFUNC, problem);
      return;
    }

  record->id = ++self->last_id;

  op = op_new (OP_INSERT, record->id);
  op->record = sl_store_record_copy (record);
  queue_op (self, op);
}

/**
 * sl_store_update:
 * @self: a store
 * @record: a download inserted before
 *
 * Queues writing every field of @record over the stored row with the same id. @record is
 * copied.
 */
void
sl_store_update (SlStore             *self,
                 const SlStoreRecord *record)
{
  const char *problem;
  Op *op;

  g_return_if_fail (SL_IS_STORE (self));
  g_return_if_fail (self->pool != NULL);
  g_return_if_fail (record != NULL);
  g_return_if_fail (record->id > 0 && record->id <= self->last_id);

  problem = check_record (record);
  if (problem != NULL)
    {
      g_critical ("%s: invalid record: %s", G_STRFUNC, problem);
      return;
    }

  op = op_new (OP_UPDATE, record->id);
  op->record = sl_store_record_copy (record);
  queue_op (self, op);
}

/**
 * sl_store_update_progress:
 * @self: a store
 * @id: a download inserted before
 * @bytes_received: bytes flushed to the partial file
 * @bytes_total: expected length, -1 when unknown
 * @resume_data: (nullable): resume data matching @bytes_received; %NULL stores none
 *
 * Queues writing the three values, which always go together. Call it only once the partial
 * file is flushed up to @bytes_received. If a progress update for @id is still waiting, it is
 * replaced rather than followed, so frequent checkpoints cost one write per batch.
 */
void
sl_store_update_progress (SlStore *self,
                          gint64   id,
                          gint64   bytes_received,
                          gint64   bytes_total,
                          GBytes  *resume_data)
{
  gboolean wake = FALSE;
  Op *op;

  g_return_if_fail (SL_IS_STORE (self));
  g_return_if_fail (self->pool != NULL);
  g_return_if_fail (id > 0 && id <= self->last_id);
  g_return_if_fail (bytes_received >= 0 && bytes_total >= -1);

  g_mutex_lock (&self->lock);
  op = g_hash_table_lookup (self->pending_progress, &id);
  if (op == NULL)
    {
      op = op_new (OP_PROGRESS, id);
      wake = queue_op_locked (self, op);
    }
  op->bytes_received = bytes_received;
  op->bytes_total = bytes_total;
  g_clear_pointer (&op->resume_data, g_bytes_unref);
  op->resume_data = resume_data != NULL ? g_bytes_ref (resume_data) : NULL;
  g_mutex_unlock (&self->lock);

  if (wake)
    wake_worker (self);
}

/**
 * sl_store_remove:
 * @self: a store
 * @id: a download inserted before
 *
 * Queues deleting the download. Its id is not given to another one.
 */
void
sl_store_remove (SlStore *self,
                 gint64   id)
{
  g_return_if_fail (SL_IS_STORE (self));
  g_return_if_fail (self->pool != NULL);
  g_return_if_fail (id > 0);

  queue_op (self, op_new (OP_REMOVE, id));
}

/**
 * sl_store_set_setting:
 * @self: a store
 * @key: the setting's name: UTF-8, not empty, without control characters
 * @value: (nullable): the new value, of any type; %NULL deletes the setting
 *
 * Queues storing @value under @key, replacing what was there, whatever its type. Like the
 * other writes, it is written on the store's thread: once a flush queued after it completes,
 * or the store is disposed, it is committed. If @value is floating, the store takes ownership
 * of it; otherwise it takes a reference.
 */
void
sl_store_set_setting (SlStore    *self,
                      const char *key,
                      GVariant   *value)
{
  /* Taken first, so that a refused call does not leak a floating value. Boxed in a "v", which
   * is what the table holds. */
  g_autoptr (GVariant) boxed = value != NULL
    ? g_variant_ref_sink (g_variant_new_variant (value))
    : NULL;
  const char *problem;
  Op *op;

  g_return_if_fail (SL_IS_STORE (self));
  g_return_if_fail (self->pool != NULL);

  problem = check_setting_key (key);
  if (problem != NULL)
    {
      g_critical ("%s: invalid key: %s", G_STRFUNC, problem);
      return;
    }

  op = op_new (OP_SET_SETTING, 0);
  op->key = g_strdup (key);
  op->value = g_steal_pointer (&boxed);
  queue_op (self, op);
}

/**
 * sl_store_flush_async:
 * @self: a store
 * @cancellable: (nullable): a #GCancellable
 * @callback: called once everything queued before is committed
 * @user_data: data for @callback
 *
 * Waits, without blocking, until everything queued before this call is committed.
 * Cancelling only stops the wait from being reported as a success: the writes still happen.
 */
void
sl_store_flush_async (SlStore             *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;
  Op *op;

  g_return_if_fail (SL_IS_STORE (self));
  g_return_if_fail (self->pool != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sl_store_flush_async);

  op = op_new (OP_FLUSH, 0);
  op->task = g_steal_pointer (&task);
  queue_op (self, op);
}

/**
 * sl_store_flush_finish:
 * @self: a store
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Collects the end of a flush. An operation queued after the previous flush and before this
 * one that could not be written makes the flush fail with its error (the same that
 * #SlStore::error reported).
 *
 * Returns: %TRUE if everything before the flush was written
 */
gboolean
sl_store_flush_finish (SlStore       *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (SL_IS_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sl_store_flush_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * sl_store_flush_sync:
 * @self: a store
 * @error: return location for a #GError
 *
 * Blocks until everything queued before this call is committed, for shutdown and tests.
 * Fails like sl_store_flush_finish().
 *
 * Returns: %TRUE if everything before the flush was written
 */
gboolean
sl_store_flush_sync (SlStore  *self,
                     GError  **error)
{
  Waiter waiter;
  Op *op;

  g_return_val_if_fail (SL_IS_STORE (self), FALSE);
  g_return_val_if_fail (self->pool != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  waiter_init (&waiter);
  op = op_new (OP_FLUSH, 0);
  op->waiter = &waiter;
  queue_op (self, op);
  waiter_wait (&waiter);

  if (waiter.error != NULL)
    {
      g_propagate_error (error, waiter.error);
      return FALSE;
    }

  return TRUE;
}
