/* sl-response-policy.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "sl-response-policy.h"
#include "sl-retry.h"
#include "sl-types.h"

/**
 * sl_verdict_clear:
 * @verdict: a verdict
 *
 * Frees what @verdict holds.
 */
void
sl_verdict_clear (SlVerdict *verdict)
{
  g_clear_error (&verdict->error);
}

/**
 * sl_segment_verdict_clear:
 * @verdict: a verdict
 *
 * Frees what @verdict holds.
 */
void
sl_segment_verdict_clear (SlSegmentVerdict *verdict)
{
  g_clear_error (&verdict->error);
}

/**
 * sl_response_etag_is_strong:
 * @etag: (nullable): an ETag as a server sent it
 *
 * Returns: whether @etag is a strong validator, one that If-Range may carry
 */
gboolean
sl_response_etag_is_strong (const char *etag)
{
  return etag != NULL && etag[0] == '"';
}

/**
 * sl_response_is_encoded:
 * @headers: response headers
 *
 * Returns: whether the body has a content coding (that the session decodes), so that its
 *   bytes are not the entity's and have no offsets to ask for again
 */
gboolean
sl_response_is_encoded (SoupMessageHeaders *headers)
{
  const char *encoding = soup_message_headers_get_one (headers, "Content-Encoding");

  return encoding != NULL && g_ascii_strcasecmp (encoding, "identity") != 0;
}

/**
 * sl_response_status_error:
 * @status: an HTTP status
 * @reason_phrase: (nullable): the reason the server gave
 *
 * Returns: (transfer full): an %SL_DOWNLOAD_ERROR_HTTP_STATUS error that names the status
 */
GError *
sl_response_status_error (guint       status,
                          const char *reason_phrase)
{
  if (reason_phrase == NULL || *reason_phrase == '\0')
    reason_phrase = soup_status_get_phrase (status);

  return g_error_new (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_HTTP_STATUS,
                      _("The server answered %u %s"), status,
                      reason_phrase ? reason_phrase : "");
}

static gboolean
is_html (const char *content_type)
{
  return content_type != NULL &&
         (g_ascii_strncasecmp (content_type, "text/html", 9) == 0 ||
          g_ascii_strncasecmp (content_type, "application/xhtml", 17) == 0);
}

/* The complete length a 416 tells. Its Content-Range is the unsatisfied form, "bytes *"
 * followed by "/" and the length (RFC 9110, 14.4), which soup_message_headers_get_content_range() does not read (libsoup
 * 3.2.3 wants a first and last byte); a server that sends a byte range there is read too.
 * Returns -1 when the answer tells none. */
static gint64
unsatisfied_total (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one (headers, "Content-Range");
  goffset start, end, total = -1;
  guint64 length;

  if (soup_message_headers_get_content_range (headers, &start, &end, &total))
    return total;
  if (value == NULL || g_ascii_strncasecmp (value, "bytes */", 8) != 0 ||
      !g_ascii_string_to_unsigned (value + 8, 10, 0, G_MAXINT64, &length, NULL))
    return -1;
  return length;
}

/* Seconds, or an HTTP date; bounded, so that a server cannot park a download for days. */
static guint
parse_retry_after (SoupMessageHeaders *headers,
                   GDateTime          *now)
{
  const char *value = soup_message_headers_get_one (headers, "Retry-After");
  guint64 seconds;

  if (value == NULL)
    return 0;

  if (g_ascii_string_to_unsigned (value, 10, 0, SL_MAX_RETRY_AFTER_S, &seconds, NULL))
    return seconds;

  {
    g_autoptr (GDateTime) when = soup_date_time_new_from_http_string (value);

    if (when != NULL)
      return CLAMP (g_date_time_difference (when, now) / G_TIME_SPAN_SECOND, 0,
                    SL_MAX_RETRY_AFTER_S);
  }

  return 0;
}

static SlVerdict
verdict (SlVerdictKind kind,
         const char   *reason)
{
  return (SlVerdict) { .kind = kind, .reason = reason, .total = -1 };
}

static SlVerdict
failure (SlVerdictKind  kind,
         GError        *error)
{
  return (SlVerdict) { .kind = kind, .error = error, .total = -1 };
}

static SlVerdict
bad_response (const char *message)
{
  return failure (SL_VERDICT_FAIL,
                  g_error_new_literal (SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_BAD_RESPONSE,
                                       message));
}

/* The answer to the request for what follows a body of unknown length: a 416 confirms the
 * length; anything but a 206 (which goes on as any resumed answer) leaves it unconfirmed.
 * Returns whether it decided. */
static gboolean
judge_end (const SlAsked      *asked,
           guint               status,
           SoupMessageHeaders *headers,
           SlVerdict          *out)
{
  if (status == SOUP_STATUS_PARTIAL_CONTENT)
    return FALSE;

  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    {
      gint64 total = unsatisfied_total (headers);

      if (total >= 0 && total != asked->have)
        {
          *out = verdict (SL_VERDICT_RESTART, _("The file changed on the server; starting over"));
          return TRUE;
        }
      *out = verdict (SL_VERDICT_FINISH, NULL);
      out->length_checked = TRUE;
      out->total = asked->have;
      return TRUE;
    }

  *out = verdict (SL_VERDICT_FINISH, NULL);
  return TRUE;
}

/* The answer to the request that overlaps an adopted partial file: a 206 from where asked is
 * compared as it arrives; anything else that is not an error means the bytes on disk cannot
 * be vouched for. Returns whether it decided. */
static gboolean
judge_adoption (const SlAsked      *asked,
                guint               status,
                SoupMessageHeaders *headers,
                SlVerdict          *out)
{
  goffset start = -1, end = -1, total = -1;

  if (status == SOUP_STATUS_PARTIAL_CONTENT)
    {
      if (!soup_message_headers_get_content_range (headers, &start, &end, &total) ||
          start != asked->adopt_from || sl_response_is_encoded (headers))
        *out = verdict (SL_VERDICT_ABANDON_ADOPTION,
                        _("The server sent another part of the file than the one asked for; "
                          "starting over"));
      else if (total >= 0 && total < asked->adopt_end)
        *out = verdict (SL_VERDICT_ABANDON_ADOPTION,
                        _("The partial file is longer than the file on the server; starting "
                          "over"));
      else
        {
          *out = verdict (SL_VERDICT_ADOPT, NULL);
          out->total = total;
        }
      return TRUE;
    }

  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    {
      *out = verdict (SL_VERDICT_ABANDON_ADOPTION,
                      _("The partial file is longer than the file on the server; starting "
                        "over"));
      return TRUE;
    }

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      *out = verdict (SL_VERDICT_ABANDON_ADOPTION,
                      _("The server does not continue files, so the partial file already "
                        "there cannot be checked; starting over"));
      return TRUE;
    }

  return FALSE;
}

/* Whether a 206's Content-Length, if it has one, is the length of its Content-Range. */
static gboolean
length_fits (SoupMessageHeaders *headers,
             goffset             start,
             goffset             end)
{
  return soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH ||
         soup_message_headers_get_content_length (headers) == end - start + 1;
}

/* The answer to the first request, "Range: bytes=0-": a 206 of the whole entity begins the
 * download like a 200, and says whether other connections may fetch parts of it; a 200 is the
 * whole entity, from a server that does not split; a 416 (an empty entity, or a server that
 * refuses ranges) asks again without one. Returns whether it decided. */
static gboolean
judge_probe (guint               status,
             SoupMessageHeaders *headers,
             SlVerdict          *out)
{
  goffset start = -1, end = -1, total = -1;
  const char *etag = soup_message_headers_get_one (headers, "ETag");
  const char *last_modified = soup_message_headers_get_one (headers, "Last-Modified");

  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    {
      *out = verdict (SL_VERDICT_RESTART, NULL);
      out->plain = TRUE;
      return TRUE;
    }

  if (status != SOUP_STATUS_PARTIAL_CONTENT)
    return FALSE;

  if (!soup_message_headers_get_content_range (headers, &start, &end, &total) || start != 0)
    {
      *out = verdict (SL_VERDICT_RESTART, _("The server sent another part of the file than "
                                            "the one asked for; starting over"));
      out->plain = TRUE;
      return TRUE;
    }

  *out = verdict (SL_VERDICT_BEGIN, NULL);
  out->total = total;
  out->splittable = total > 0 && end == total - 1 && !sl_response_is_encoded (headers) &&
                    length_fits (headers, start, end) &&
                    (sl_response_etag_is_strong (etag) || last_modified != NULL);
  return TRUE;
}

/**
 * sl_response_judge:
 * @asked: what was asked, and what the download holds
 * @status: the answer's HTTP status
 * @reason_phrase: (nullable): the reason the server gave with it
 * @headers: the answer's headers
 * @now: the time, for a Retry-After that is a date
 *
 * Decides what the answer means, before any byte of its body is read. A request of an
 * adopted partial file, and one that checks where a body of unknown length ended, are judged
 * by their own rules first; then, in order: a passing fault (429, 503 and the like) is retried;
 * a 416 to a ranged request finishes a file that is whole, else starts over; any other error
 * fails; a 206 must start where asked and carry the same total and strong ETag, or the file
 * changed; a 200 to a ranged request is the whole entity again (an error page, if it is HTML
 * where the file is not); a 206 nobody asked for fails.
 *
 * Returns: the verdict; clear it with sl_verdict_clear()
 */
SlVerdict
sl_response_judge (const SlAsked      *asked,
                   guint               status,
                   const char         *reason_phrase,
                   SoupMessageHeaders *headers,
                   GDateTime          *now)
{
  SlVerdict out;
  gint64 length = -1;

  g_return_val_if_fail (asked != NULL, verdict (SL_VERDICT_FAIL, NULL));
  g_return_val_if_fail (headers != NULL, verdict (SL_VERDICT_FAIL, NULL));
  g_return_val_if_fail (now != NULL, verdict (SL_VERDICT_FAIL, NULL));

  if (status >= 400 && sl_retry_status_is_transient (status))
    {
      /* Overload and gateway trouble pass; try again later, when the server says. */
      out = failure (SL_VERDICT_RETRY, sl_response_status_error (status, reason_phrase));
      out.retry_after_s = parse_retry_after (headers, now);
      return out;
    }

  if (asked->verifying && judge_end (asked, status, headers, &out))
    return out;

  if (asked->adopt_end > 0 && judge_adoption (asked, status, headers, &out))
    return out;

  if (asked->probe && judge_probe (status, headers, &out))
    return out;

  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && asked->ranged)
    {
      gint64 total = unsatisfied_total (headers);

      /* Everything may already be here: finish once the length checks out. */
      if (asked->total >= 0 && asked->have == asked->total &&
          (total < 0 || total == asked->total))
        return verdict (SL_VERDICT_FINISH, NULL);
      return verdict (SL_VERDICT_RESTART, _("The server refused to continue from where the "
                                            "download stopped; starting over"));
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    return failure (SL_VERDICT_FAIL, sl_response_status_error (status, reason_phrase));

  if (!sl_response_is_encoded (headers) &&
      soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    length = soup_message_headers_get_content_length (headers);

  if (asked->ranged && status == SOUP_STATUS_PARTIAL_CONTENT)
    {
      goffset start = -1, end = -1, total = -1;
      const char *etag = soup_message_headers_get_one (headers, "ETag");

      if (!soup_message_headers_get_content_range (headers, &start, &end, &total) ||
          start != asked->have)
        return verdict (SL_VERDICT_RESTART, _("The server sent another part of the file than "
                                              "the one asked for; starting over"));
      if ((asked->total >= 0 && total >= 0 && total != asked->total) ||
          (sl_response_etag_is_strong (asked->etag) && etag != NULL &&
           g_strcmp0 (etag, asked->etag) != 0))
        return verdict (SL_VERDICT_RESTART, _("The file changed on the server; starting over"));

      out = verdict (SL_VERDICT_CONTINUE, NULL);
      out.total = total;
      return out;
    }

  if (asked->ranged && !asked->probe)
    {
      /* A whole page instead of the rest of a file is an error page, not a new version. */
      if (is_html (soup_message_headers_get_one (headers, "Content-Type")) &&
          !is_html (asked->content_type))
        return bad_response (_("The server answered with a web page instead of the rest of "
                               "the file"));

      /* 200 to a ranged request: the range was ignored or the entity changed. This body is
       * the whole entity, so start over with it rather than make another request. */
      out = verdict (SL_VERDICT_START_OVER, _("The server sent the whole file again; starting "
                                              "over"));
      out.total = length;
      return out;
    }

  if (status == SOUP_STATUS_PARTIAL_CONTENT)
    return bad_response (_("The server sent part of a file that was not asked for"));

  out = verdict (SL_VERDICT_BEGIN, NULL);
  out.total = length;
  return out;
}

static SlSegmentVerdict
segment_verdict (SlSegmentVerdictKind  kind,
                 const char           *reason)
{
  return (SlSegmentVerdict) { .kind = kind, .reason = reason, .end = -1 };
}

/* Whether the answer's validators or length show another entity than the one asked for. A
 * validator the answer leaves out proves nothing either way. */
static gboolean
is_other_entity (const SlSegmentAsked *asked,
                 SoupMessageHeaders   *headers,
                 gint64                total)
{
  const char *etag = soup_message_headers_get_one (headers, "ETag");
  const char *last_modified = soup_message_headers_get_one (headers, "Last-Modified");

  return (total >= 0 && total != asked->total) ||
         (asked->etag != NULL && etag != NULL && g_strcmp0 (etag, asked->etag) != 0) ||
         (asked->last_modified != NULL && last_modified != NULL &&
          g_strcmp0 (last_modified, asked->last_modified) != 0);
}

/**
 * sl_response_judge_segment:
 * @asked: the bytes asked for, and the entity they belong to
 * @status: the answer's HTTP status
 * @reason_phrase: (nullable): the reason the server gave with it
 * @headers: the answer's headers
 * @now: the time, for a Retry-After that is a date
 *
 * Decides what the answer to a request for one segment means, before any byte of it is read.
 * Only a 206 that starts where asked, ends at or before where asked, has no content coding,
 * carries the ETag held and tells the same length and validators is taken: the download never splices in bytes it cannot
 * vouch for. A passing fault (429, 503 and the like) is tried again later; another length or
 * validator, or a 416, means the file changed; a 200 of the same entity means the server does
 * not split; any other part is not trusted; any other error gives up the connection.
 *
 * Returns: the verdict; clear it with sl_segment_verdict_clear()
 */
SlSegmentVerdict
sl_response_judge_segment (const SlSegmentAsked *asked,
                           guint                 status,
                           const char           *reason_phrase,
                           SoupMessageHeaders   *headers,
                           GDateTime            *now)
{
  SlSegmentVerdict out;
  goffset start = -1, end = -1, total = -1;

  g_return_val_if_fail (asked != NULL && headers != NULL && now != NULL,
                        segment_verdict (SL_SEGMENT_REFUSED, NULL));

  if (status >= 400 && sl_retry_status_is_transient (status))
    {
      out = segment_verdict (SL_SEGMENT_RETRY, NULL);
      out.error = sl_response_status_error (status, reason_phrase);
      out.retry_after_s = parse_retry_after (headers, now);
      return out;
    }

  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE)
    return segment_verdict (SL_SEGMENT_CHANGED, _("The file changed on the server; starting "
                                                  "over"));

  if (status == SOUP_STATUS_OK)
    {
      gint64 length = -1;

      if (!sl_response_is_encoded (headers) &&
          soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
        length = soup_message_headers_get_content_length (headers);
      if (is_other_entity (asked, headers, length))
        return segment_verdict (SL_SEGMENT_CHANGED, _("The file changed on the server; "
                                                      "starting over"));
      return segment_verdict (SL_SEGMENT_NO_RANGES, _("The server stopped sending parts of "
                                                      "the file; using one connection"));
    }

  if (status != SOUP_STATUS_PARTIAL_CONTENT)
    {
      out = segment_verdict (SL_SEGMENT_REFUSED, NULL);
      out.error = sl_response_status_error (status, reason_phrase);
      return out;
    }

  /* A 206 must carry the ETag a 200 would (RFC 9110, 15.3.7): one without it is not vouched
   * for. */
  if (!soup_message_headers_get_content_range (headers, &start, &end, &total) ||
      sl_response_is_encoded (headers) || start != asked->start || end < start ||
      end >= asked->end || !length_fits (headers, start, end) ||
      (asked->etag != NULL && soup_message_headers_get_one (headers, "ETag") == NULL))
    return segment_verdict (SL_SEGMENT_UNTRUSTED, _("The server sent another part of the "
                                                    "file than the one asked for; using one "
                                                    "connection"));

  if (is_other_entity (asked, headers, total))
    return segment_verdict (SL_SEGMENT_CHANGED, _("The file changed on the server; starting "
                                                  "over"));

  out = segment_verdict (SL_SEGMENT_TAKE, NULL);
  out.end = end + 1;
  return out;
}
