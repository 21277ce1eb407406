/* sl-response-policy.h
 *
 * What an HTTP answer means for a download, decided from what was asked and what came back,
 * before any byte of the body is read. No I/O, no state: a table of cases tests it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The longest wait a Retry-After may ask for. */
#define SL_MAX_RETRY_AFTER_S (60 * 60)

/* What was asked, and what the download holds. */
typedef struct
{
  gboolean    ranged;        /* the request had a Range */
  gint64      have;          /* bytes on disk, from the first on */
  gint64      total;         /* the entity's length as known, or -1 */
  const char *etag;          /* the validators held, or NULL */
  const char *content_type;  /* the type of the entity held, or NULL */
  gboolean    verifying;     /* the request asks for what follows a body of unknown length */
  gint64      adopt_end;     /* > 0: the request overlaps a partial file of this length */
  gint64      adopt_from;    /* where that request's range starts */
  gboolean    probe;         /* the request asks for "bytes=0-", to learn if it can split */
} SlAsked;

/**
 * SlVerdictKind:
 * @SL_VERDICT_BEGIN: a whole entity from its first byte: take its validators and read it
 * @SL_VERDICT_CONTINUE: the rest from where asked: read it after the bytes on disk
 * @SL_VERDICT_START_OVER: the whole entity instead of the rest asked for: drop the bytes on
 *   disk, take its validators and read it (the owner may refuse, see @reason)
 * @SL_VERDICT_ADOPT: the rest of an adopted partial file, from where asked: take its
 *   validators and compare the overlap as it arrives
 * @SL_VERDICT_ABANDON_ADOPTION: the partial file cannot be vouched for: start over in it
 * @SL_VERDICT_RESTART: start over with a new request from the first byte
 * @SL_VERDICT_FINISH: nothing more is to come: the file is whole
 * @SL_VERDICT_RETRY: a passing fault: try again later
 * @SL_VERDICT_FAIL: the download fails
 */
typedef enum
{
  SL_VERDICT_BEGIN,
  SL_VERDICT_CONTINUE,
  SL_VERDICT_START_OVER,
  SL_VERDICT_ADOPT,
  SL_VERDICT_ABANDON_ADOPTION,
  SL_VERDICT_RESTART,
  SL_VERDICT_FINISH,
  SL_VERDICT_RETRY,
  SL_VERDICT_FAIL,
} SlVerdictKind;

typedef struct
{
  SlVerdictKind  kind;
  const char    *reason;          /* why it starts over (translated), or NULL */
  GError        *error;           /* RETRY, FAIL: what went wrong */
  guint          retry_after_s;   /* RETRY: what the server asked for, 0 if nothing */
  gint64         total;           /* the length the answer tells, or -1 */
  gboolean       length_checked;  /* FINISH: the server confirmed the length is @have */
  gboolean       splittable;      /* BEGIN: a 206 of the whole entity with validators: ranges
                                   * of it can be fetched on other connections */
  gboolean       plain;           /* RESTART: ask again without a range */
} SlVerdict;

/* What a request for one segment asked: the bytes [start, end) of the entity the download
 * holds. */
typedef struct
{
  gint64      start;
  gint64      end;
  gint64      total;
  const char *etag;
  const char *last_modified;
} SlSegmentAsked;

/**
 * SlSegmentVerdictKind:
 * @SL_SEGMENT_TAKE: the bytes asked for, or the first of them: read the body from @start
 * @SL_SEGMENT_NO_RANGES: the server answers with the whole entity: it does not split, so the
 *   download stops splitting
 * @SL_SEGMENT_UNTRUSTED: a part that is not the one asked for: the download stops splitting
 * @SL_SEGMENT_CHANGED: another entity (validators, length, or a 416): the download starts
 *   over
 * @SL_SEGMENT_RETRY: a passing fault, or a server that wants fewer connections: try later
 * @SL_SEGMENT_REFUSED: an error for this connection: give it up
 */
typedef enum
{
  SL_SEGMENT_TAKE,
  SL_SEGMENT_NO_RANGES,
  SL_SEGMENT_UNTRUSTED,
  SL_SEGMENT_CHANGED,
  SL_SEGMENT_RETRY,
  SL_SEGMENT_REFUSED,
} SlSegmentVerdictKind;

typedef struct
{
  SlSegmentVerdictKind  kind;
  const char           *reason;         /* translated, for all but TAKE */
  GError               *error;          /* RETRY, REFUSED: the status */
  guint                 retry_after_s;  /* RETRY */
  gint64                end;            /* TAKE: where the body ends, at or before the end */
} SlSegmentVerdict;

void      sl_verdict_clear          (SlVerdict          *verdict);
void      sl_segment_verdict_clear  (SlSegmentVerdict   *verdict);

SlVerdict sl_response_judge         (const SlAsked      *asked,
                                     guint               status,
                                     const char         *reason_phrase,
                                     SoupMessageHeaders *headers,
                                     GDateTime          *now);

SlSegmentVerdict sl_response_judge_segment (const SlSegmentAsked *asked,
                                            guint                 status,
                                            const char           *reason_phrase,
                                            SoupMessageHeaders   *headers,
                                            GDateTime            *now);

gboolean  sl_response_etag_is_strong (const char        *etag);
gboolean  sl_response_is_encoded    (SoupMessageHeaders *headers);
GError   *sl_response_status_error  (guint               status,
                                     const char         *reason_phrase);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SlVerdict, sl_verdict_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SlSegmentVerdict, sl_segment_verdict_clear)

G_END_DECLS
