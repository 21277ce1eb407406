/* test-response-policy.c
 *
 * What an answer means for a download, by a table: what was asked, what came back (status
 * and headers), and the verdict it must give.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "sl-response-policy.h"
#include "sl-types.h"

#define CHANGED      "The file changed on the server; starting over"
#define OTHER_PART   "The server sent another part of the file than the one asked for; " \
                     "starting over"
#define REFUSED      "The server refused to continue from where the download stopped; " \
                     "starting over"
#define WHOLE_AGAIN  "The server sent the whole file again; starting over"
#define LONGER       "The partial file is longer than the file on the server; starting over"
#define NO_RANGES    "The server does not continue files, so the partial file already there " \
                     "cannot be checked; starting over"

/* Asked: a fresh GET; the rest after 100 bytes of a 1000-byte entity; the same with a strong
 * ETag and an HTML page held; the check of where a body of unknown length (500 bytes so far)
 * ends; the overlap of a 600-byte partial file, asked from 500. */
static const SlAsked fresh = { .total = -1 };
static const SlAsked resume = { .ranged = TRUE, .have = 100, .total = 1000, .etag = "\"v1\"",
                                .content_type = "application/zip" };
static const SlAsked resume_weak = { .ranged = TRUE, .have = 100, .total = -1,
                                     .etag = "W/\"v1\"" };
static const SlAsked resume_page = { .ranged = TRUE, .have = 100, .total = 1000,
                                     .content_type = "text/html" };
static const SlAsked resume_all = { .ranged = TRUE, .have = 1000, .total = 1000 };
static const SlAsked verify = { .ranged = TRUE, .have = 500, .total = -1, .verifying = TRUE };
static const SlAsked probe = { .ranged = TRUE, .have = 0, .total = -1, .probe = TRUE };
static const SlAsked adopt = { .ranged = TRUE, .have = 0, .total = -1, .adopt_end = 600,
                               .adopt_from = 500 };

typedef struct
{
  const char    *name;
  const SlAsked *asked;
  guint          status;
  const char    *headers;     /* "Name: value" lines */
  SlVerdictKind  kind;
  gint64         total;
  const char    *reason;      /* NULL: none */
  int            error;       /* the SL_DOWNLOAD_ERROR code, -1: none */
  guint          retry_after_s;
  gboolean       length_checked;
  gboolean       splittable;
  gboolean       plain;
} PolicyCase;

static const PolicyCase cases[] = {
  /* A fresh request */
  { "200 with a length", &fresh, 200, "Content-Length: 1000", SL_VERDICT_BEGIN, 1000, NULL, -1 },
  { "200 chunked", &fresh, 200, "Transfer-Encoding: chunked", SL_VERDICT_BEGIN, -1, NULL, -1 },
  { "200 gzip: no length", &fresh, 200, "Content-Length: 300\nContent-Encoding: gzip",
    SL_VERDICT_BEGIN, -1, NULL, -1 },
  { "200 identity coding", &fresh, 200, "Content-Length: 300\nContent-Encoding: identity",
    SL_VERDICT_BEGIN, 300, NULL, -1 },
  { "206 not asked for", &fresh, 206, "Content-Range: bytes 0-9/10", SL_VERDICT_FAIL, -1, NULL,
    SL_DOWNLOAD_ERROR_BAD_RESPONSE },
  { "404", &fresh, 404, "", SL_VERDICT_FAIL, -1, NULL, SL_DOWNLOAD_ERROR_HTTP_STATUS },
  { "403", &fresh, 403, "", SL_VERDICT_FAIL, -1, NULL, SL_DOWNLOAD_ERROR_HTTP_STATUS },
  { "503 with seconds", &fresh, 503, "Retry-After: 7", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS, 7 },
  { "429 without Retry-After", &fresh, 429, "", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS, 0 },
  { "503 with a date", &fresh, 503, "Retry-After: Wed, 21 Oct 2015 07:28:30 GMT",
    SL_VERDICT_RETRY, -1, NULL, SL_DOWNLOAD_ERROR_HTTP_STATUS, 30 },
  { "503 with a date past", &fresh, 503, "Retry-After: Wed, 21 Oct 2015 07:27:00 GMT",
    SL_VERDICT_RETRY, -1, NULL, SL_DOWNLOAD_ERROR_HTTP_STATUS, 0 },
  { "503 asking for days", &fresh, 503, "Retry-After: 999999", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS, 0 },
  { "503 with garbage", &fresh, 503, "Retry-After: soon", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS, 0 },

  /* Resuming */
  { "206 from where asked", &resume, 206, "Content-Range: bytes 100-999/1000\nETag: \"v1\"",
    SL_VERDICT_CONTINUE, 1000, NULL, -1 },
  { "206 of unknown total", &resume, 206, "Content-Range: bytes 100-999/*",
    SL_VERDICT_CONTINUE, -1, NULL, -1 },
  { "206 elsewhere", &resume, 206, "Content-Range: bytes 200-999/1000", SL_VERDICT_RESTART, -1,
    OTHER_PART, -1 },
  { "206 without Content-Range", &resume, 206, "", SL_VERDICT_RESTART, -1, OTHER_PART, -1 },
  { "206 of another total", &resume, 206, "Content-Range: bytes 100-1999/2000",
    SL_VERDICT_RESTART, -1, CHANGED, -1 },
  { "206 of another ETag", &resume, 206, "Content-Range: bytes 100-999/1000\nETag: \"v2\"",
    SL_VERDICT_RESTART, -1, CHANGED, -1 },
  { "206 with a weak ETag held", &resume_weak, 206,
    "Content-Range: bytes 100-999/1000\nETag: W/\"v2\"", SL_VERDICT_CONTINUE, 1000, NULL, -1 },
  { "200 instead of the rest", &resume, 200, "Content-Length: 1200\nContent-Type: application/zip",
    SL_VERDICT_START_OVER, 1200, WHOLE_AGAIN, -1 },
  { "200 error page", &resume, 200, "Content-Length: 50\nContent-Type: text/html; charset=utf-8",
    SL_VERDICT_FAIL, -1, NULL, SL_DOWNLOAD_ERROR_BAD_RESPONSE },
  { "200 xhtml error page", &resume, 200, "Content-Type: application/xhtml+xml",
    SL_VERDICT_FAIL, -1, NULL, SL_DOWNLOAD_ERROR_BAD_RESPONSE },
  { "200 page of a page", &resume_page, 200, "Content-Length: 50\nContent-Type: text/html",
    SL_VERDICT_START_OVER, 50, WHOLE_AGAIN, -1 },
  { "416 when all is here", &resume_all, 416, "Content-Range: bytes */1000", SL_VERDICT_FINISH,
    -1, NULL, -1 },
  { "416 all here, other total", &resume_all, 416, "Content-Range: bytes */2000",
    SL_VERDICT_RESTART, -1, REFUSED, -1 },
  { "416 all here, byte range form", &resume_all, 416, "Content-Range: bytes 0-999/1000",
    SL_VERDICT_FINISH, -1, NULL, -1 },
  { "416 all here, no total", &resume_all, 416, "", SL_VERDICT_FINISH, -1, NULL, -1 },
  { "416 all here, garbage", &resume_all, 416, "Content-Range: bytes */lots", SL_VERDICT_FINISH,
    -1, NULL, -1 },
  { "416 before the end", &resume, 416, "Content-Range: bytes */1000", SL_VERDICT_RESTART, -1,
    REFUSED, -1 },
  { "410 to a ranged request", &resume, 410, "", SL_VERDICT_FAIL, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS },
  { "502 to a ranged request", &resume, 502, "", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS, 0 },

  /* Where a body of unknown length ended */
  { "end: 416 confirms", &verify, 416, "Content-Range: bytes */500", SL_VERDICT_FINISH, 500,
    NULL, -1, 0, TRUE },
  { "end: 416 without total", &verify, 416, "", SL_VERDICT_FINISH, 500, NULL, -1, 0, TRUE },
  { "end: 416 of another total", &verify, 416, "Content-Range: bytes */900", SL_VERDICT_RESTART,
    -1, CHANGED, -1 },
  { "end: 206 goes on", &verify, 206, "Content-Range: bytes 500-899/900", SL_VERDICT_CONTINUE,
    900, NULL, -1 },
  { "end: 200 leaves it unchecked", &verify, 200, "Content-Length: 900", SL_VERDICT_FINISH, -1,
    NULL, -1 },
  { "end: 404 leaves it unchecked", &verify, 404, "", SL_VERDICT_FINISH, -1, NULL, -1 },
  { "end: 503 is retried", &verify, 503, "", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS },

  /* The overlap of an adopted partial file */
  { "adopt: 206 from where asked", &adopt, 206, "Content-Range: bytes 500-999/1000",
    SL_VERDICT_ADOPT, 1000, NULL, -1 },
  { "adopt: 206 of unknown total", &adopt, 206, "Content-Range: bytes 500-999/*",
    SL_VERDICT_ADOPT, -1, NULL, -1 },
  { "adopt: 206 of the very end", &adopt, 206, "Content-Range: bytes 500-599/600",
    SL_VERDICT_ADOPT, 600, NULL, -1 },
  { "adopt: 206 elsewhere", &adopt, 206, "Content-Range: bytes 0-999/1000",
    SL_VERDICT_ABANDON_ADOPTION, -1, OTHER_PART, -1 },
  { "adopt: 206 encoded", &adopt, 206, "Content-Range: bytes 500-999/1000\nContent-Encoding: gzip",
    SL_VERDICT_ABANDON_ADOPTION, -1, OTHER_PART, -1 },
  { "adopt: shorter entity", &adopt, 206, "Content-Range: bytes 500-549/550",
    SL_VERDICT_ABANDON_ADOPTION, -1, LONGER, -1 },
  { "adopt: 416", &adopt, 416, "Content-Range: bytes */400", SL_VERDICT_ABANDON_ADOPTION, -1,
    LONGER, -1 },
  { "adopt: 200", &adopt, 200, "Content-Length: 1000", SL_VERDICT_ABANDON_ADOPTION, -1,
    NO_RANGES, -1 },
  { "adopt: 404", &adopt, 404, "", SL_VERDICT_FAIL, -1, NULL, SL_DOWNLOAD_ERROR_HTTP_STATUS },
  { "adopt: 429", &adopt, 429, "Retry-After: 3", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS, 3 },

  /* The first request, "Range: bytes=0-" */
  { "probe: whole entity, strong ETag", &probe, 206,
    "Content-Range: bytes 0-999/1000\nETag: \"v1\"", SL_VERDICT_BEGIN, 1000, NULL, -1, 0, FALSE,
    TRUE },
  { "probe: whole entity, Last-Modified", &probe, 206,
    "Content-Range: bytes 0-999/1000\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT",
    SL_VERDICT_BEGIN, 1000, NULL, -1, 0, FALSE, TRUE },
  { "probe: weak ETag only", &probe, 206, "Content-Range: bytes 0-999/1000\nETag: W/\"v1\"",
    SL_VERDICT_BEGIN, 1000, NULL, -1, 0, FALSE, FALSE },
  { "probe: no validator", &probe, 206, "Content-Range: bytes 0-999/1000", SL_VERDICT_BEGIN,
    1000, NULL, -1, 0, FALSE, FALSE },
  { "probe: encoded", &probe, 206,
    "Content-Range: bytes 0-999/1000\nETag: \"v1\"\nContent-Encoding: gzip", SL_VERDICT_BEGIN,
    1000, NULL, -1, 0, FALSE, FALSE },
  { "probe: length of another range", &probe, 206,
    "Content-Range: bytes 0-999/1000\nETag: \"v1\"\nContent-Length: 2000", SL_VERDICT_BEGIN,
    1000, NULL, -1, 0, FALSE, FALSE },
  { "probe: less than all", &probe, 206, "Content-Range: bytes 0-499/1000\nETag: \"v1\"",
    SL_VERDICT_BEGIN, 1000, NULL, -1, 0, FALSE, FALSE },
  { "probe: unknown length", &probe, 206, "Content-Range: bytes 0-499/*\nETag: \"v1\"",
    SL_VERDICT_BEGIN, -1, NULL, -1, 0, FALSE, FALSE },
  { "probe: another part", &probe, 206, "Content-Range: bytes 10-999/1000", SL_VERDICT_RESTART,
    -1, OTHER_PART, -1, 0, FALSE, FALSE, TRUE },
  { "probe: 200", &probe, 200, "Content-Length: 1000\nETag: \"v1\"", SL_VERDICT_BEGIN, 1000,
    NULL, -1 },
  { "probe: 200 page", &probe, 200, "Content-Length: 10\nContent-Type: text/html",
    SL_VERDICT_BEGIN, 10, NULL, -1 },
  { "probe: 416 of an empty file", &probe, 416, "Content-Range: bytes */0", SL_VERDICT_RESTART,
    -1, NULL, -1, 0, FALSE, FALSE, TRUE },
  { "probe: 404", &probe, 404, "", SL_VERDICT_FAIL, -1, NULL, SL_DOWNLOAD_ERROR_HTTP_STATUS },
  { "probe: 503", &probe, 503, "Retry-After: 2", SL_VERDICT_RETRY, -1, NULL,
    SL_DOWNLOAD_ERROR_HTTP_STATUS, 2 },
};

static SoupMessageHeaders *
headers_from (const char *text)
{
  SoupMessageHeaders *headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint j = 0; lines[j] != NULL; j++)
    {
      const char *colon = strchr (lines[j], ':');
      g_autofree char *name = NULL;

      if (lines[j][0] == '\0')
        continue;
      g_assert_nonnull (colon);
      name = g_strndup (lines[j], colon - lines[j]);
      soup_message_headers_append (headers, name, colon + 2);
    }
  return headers;
}

static void
test_policy_table (void)
{
  /* Dates in Retry-After count from here. */
  g_autoptr (GDateTime) now = g_date_time_new_utc (2015, 10, 21, 7, 28, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const PolicyCase *c = &cases[i];
      g_autoptr (SoupMessageHeaders) headers = headers_from (c->headers);
      g_auto (SlVerdict) verdict = { 0 };

      g_test_message ("policy: %s", c->name);
      verdict = sl_response_judge (c->asked, c->status, NULL, headers, now);
      g_assert_cmpint (verdict.kind, ==, c->kind);
      g_assert_cmpint (verdict.total, ==, c->total);
      g_assert_cmpstr (verdict.reason, ==, c->reason);
      if (c->error < 0)
        g_assert_no_error (verdict.error);
      else
        {
          g_assert_error (verdict.error, SL_DOWNLOAD_ERROR, c->error);
          g_assert_null (strchr (verdict.error->message, '\n'));
        }
      g_assert_cmpuint (verdict.retry_after_s, ==, c->retry_after_s);
      g_assert_cmpint (verdict.length_checked, ==, c->length_checked);
      g_assert_cmpint (verdict.splittable, ==, c->splittable);
      g_assert_cmpint (verdict.plain, ==, c->plain);
    }
}

/* Segments: bytes [400, 700) of a 1000-byte entity with a strong ETag and a Last-Modified. */
#define SEG_LM  "Wed, 21 Oct 2015 07:28:00 GMT"
#define SEG_CHANGED   "The file changed on the server; starting over"
#define SEG_WHOLE     "The server stopped sending parts of the file; using one connection"
#define SEG_UNTRUSTED "The server sent another part of the file than the one asked for; " \
                      "using one connection"

static const SlSegmentAsked segment = { .start = 400, .end = 700, .total = 1000,
                                        .etag = "\"v1\"", .last_modified = SEG_LM };
static const SlSegmentAsked segment_lm = { .start = 400, .end = 700, .total = 1000,
                                           .last_modified = SEG_LM };

typedef struct
{
  const char           *name;
  const SlSegmentAsked *asked;
  guint                 status;
  const char           *headers;
  SlSegmentVerdictKind  kind;
  gint64                end;
  const char           *reason;
  gboolean              error;
  guint                 retry_after_s;
} SegmentCase;

static const SegmentCase segment_cases[] = {
  { "all asked", &segment, 206, "Content-Range: bytes 400-699/1000\nETag: \"v1\"",
    SL_SEGMENT_TAKE, 700, NULL },
  { "short", &segment, 206, "Content-Range: bytes 400-499/1000\nETag: \"v1\"",
    SL_SEGMENT_TAKE, 500, NULL },
  { "no ETag sent back", &segment, 206, "Content-Range: bytes 400-699/1000",
    SL_SEGMENT_UNTRUSTED, -1, SEG_UNTRUSTED },
  { "length of another range", &segment, 206,
    "Content-Range: bytes 400-699/1000\nETag: \"v1\"\nContent-Length: 400",
    SL_SEGMENT_UNTRUSTED, -1, SEG_UNTRUSTED },
  { "length of its range", &segment, 206,
    "Content-Range: bytes 400-699/1000\nETag: \"v1\"\nContent-Length: 300",
    SL_SEGMENT_TAKE, 700, NULL },
  { "no Last-Modified sent back", &segment, 206,
    "Content-Range: bytes 400-699/1000\nETag: \"v1\"", SL_SEGMENT_TAKE, 700, NULL },
  { "same Last-Modified", &segment_lm, 206,
    "Content-Range: bytes 400-699/1000\nLast-Modified: " SEG_LM, SL_SEGMENT_TAKE, 700, NULL },
  { "past the end asked", &segment, 206, "Content-Range: bytes 400-700/1000\nETag: \"v1\"",
    SL_SEGMENT_UNTRUSTED, -1, SEG_UNTRUSTED },
  { "shifted", &segment, 206, "Content-Range: bytes 500-699/1000\nETag: \"v1\"",
    SL_SEGMENT_UNTRUSTED, -1, SEG_UNTRUSTED },
  { "encoded", &segment, 206,
    "Content-Range: bytes 400-699/1000\nETag: \"v1\"\nContent-Encoding: gzip",
    SL_SEGMENT_UNTRUSTED, -1, SEG_UNTRUSTED },
  { "no Content-Range", &segment, 206, "ETag: \"v1\"", SL_SEGMENT_UNTRUSTED, -1,
    SEG_UNTRUSTED },
  { "other ETag", &segment, 206, "Content-Range: bytes 400-699/1000\nETag: \"v2\"",
    SL_SEGMENT_CHANGED, -1, SEG_CHANGED },
  { "other Last-Modified", &segment_lm, 206,
    "Content-Range: bytes 400-699/1000\nLast-Modified: Thu, 22 Oct 2015 07:28:00 GMT",
    SL_SEGMENT_CHANGED, -1, SEG_CHANGED },
  { "other length", &segment, 206, "Content-Range: bytes 400-699/2000\nETag: \"v1\"",
    SL_SEGMENT_CHANGED, -1, SEG_CHANGED },
  { "416", &segment, 416, "Content-Range: bytes */300", SL_SEGMENT_CHANGED, -1, SEG_CHANGED },
  { "200 of the same entity", &segment, 200, "Content-Length: 1000\nETag: \"v1\"",
    SL_SEGMENT_NO_RANGES, -1, SEG_WHOLE },
  { "200 of another entity", &segment, 200, "Content-Length: 1000\nETag: \"v2\"",
    SL_SEGMENT_CHANGED, -1, SEG_CHANGED },
  { "200 of another length", &segment, 200, "Content-Length: 999", SL_SEGMENT_CHANGED, -1,
    SEG_CHANGED },
  { "503 with Retry-After", &segment, 503, "Retry-After: 4", SL_SEGMENT_RETRY, -1, NULL, TRUE,
    4 },
  { "429", &segment, 429, "", SL_SEGMENT_RETRY, -1, NULL, TRUE, 0 },
  { "403", &segment, 403, "", SL_SEGMENT_REFUSED, -1, NULL, TRUE },
  { "404", &segment, 404, "", SL_SEGMENT_REFUSED, -1, NULL, TRUE },
};

static void
test_segment_table (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_utc (2015, 10, 21, 7, 28, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (segment_cases); i++)
    {
      const SegmentCase *c = &segment_cases[i];
      g_autoptr (SoupMessageHeaders) headers = headers_from (c->headers);
      g_auto (SlSegmentVerdict) verdict = { 0 };

      g_test_message ("segment: %s", c->name);
      verdict = sl_response_judge_segment (c->asked, c->status, NULL, headers, now);
      g_assert_cmpint (verdict.kind, ==, c->kind);
      g_assert_cmpint (verdict.end, ==, c->end);
      g_assert_cmpstr (verdict.reason, ==, c->reason);
      if (c->error)
        g_assert_error (verdict.error, SL_DOWNLOAD_ERROR, SL_DOWNLOAD_ERROR_HTTP_STATUS);
      else
        g_assert_no_error (verdict.error);
      g_assert_cmpuint (verdict.retry_after_s, ==, c->retry_after_s);
    }
}

/* A status error names the status, with the server's reason or else the standard one. */
static void
test_status_error (void)
{
  g_autoptr (GError) given = sl_response_status_error (404, "Gone Fishing");
  g_autoptr (GError) standard = sl_response_status_error (404, NULL);
  g_autoptr (GError) empty = sl_response_status_error (503, "");

  g_assert_cmpstr (given->message, ==, "The server answered 404 Gone Fishing");
  g_assert_cmpstr (standard->message, ==, "The server answered 404 Not Found");
  g_assert_cmpstr (empty->message, ==, "The server answered 503 Service Unavailable");
}

int
main (int   argc,
      char *argv[])
{
  g_setenv ("LC_ALL", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/response-policy/table", test_policy_table);
  g_test_add_func ("/response-policy/status-error", test_status_error);
  g_test_add_func ("/response-policy/segments", test_segment_table);

  return g_test_run ();
}
