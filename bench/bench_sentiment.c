/*
 * bench_sentiment.c — throughput of the news sentiment scorer on one core.
 *
 * Scores the evaluation headlines (bench/sentiment_eval/headlines.tsv, third column)
 * over and over for about two seconds and prints headlines per second, next to the
 * issue's target of 200,000/s.  Also times headline + summary articles (a headline with
 * a ~60-word summary) since the news source scores both.
 *
 * Usage: bench_sentiment [headlines.tsv] [seconds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/sentiment.h"

#define TARGET_PER_SECOND 200000.0
#define MAX_HEADLINES 4096

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Load the headline column of the evaluation set (id, split, label, headline). */
static int load_headlines(const char *path, char **lines, size_t *lens, int max) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int count = 0;
  while (count < max && (n = getline(&line, &cap, f)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n == 0 || line[0] == '#' || strncmp(line, "id\t", 3) == 0) continue;
    char *text = line;
    for (int field = 0; field < 3 && text != NULL; field++) {
      text = strchr(text, '\t');
      if (text != NULL) text++;
    }
    if (text == NULL) continue;
    lines[count] = strdup(text);
    if (lines[count] == NULL) break;
    lens[count] = strlen(text);
    count++;
  }
  free(line);
  fclose(f);
  return count;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : STOCKPIPE_SOURCE_DIR "/bench/sentiment_eval/headlines.tsv";
  double seconds = argc > 2 ? atof(argv[2]) : 2.0;
  static char *lines[MAX_HEADLINES];
  static size_t lens[MAX_HEADLINES];
  int count = load_headlines(path, lines, lens, MAX_HEADLINES);
  if (count <= 0) {
    fprintf(stderr, "bench_sentiment: no headlines in %s\n", path);
    return 1;
  }
  const sp_sentiment_model *model = sp_sentiment_model_default();
  const char *summary =
      "The company reported quarterly revenue of $24.3 billion, up 8% from a year earlier, "
      "and said demand for its cloud services remained strong, although margins narrowed "
      "because of higher component costs. Management did not change its full-year outlook "
      "and announced a new $10 billion share repurchase program.";
  size_t summary_len = strlen(summary);

  double checksum = 0;
  size_t scored = 0, bytes = 0;
  double start = now_seconds(), elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < count; i++) {
      sp_sentiment s;
      if (sp_sentiment_score(model, lines[i], lens[i], &s, NULL) != 0) return 1;
      checksum += s.score;
      bytes += lens[i];
    }
    scored += (size_t)count;
    elapsed = now_seconds() - start;
  }
  double per_second = scored / elapsed;

  size_t articles = 0;
  start = now_seconds();
  elapsed = 0;
  while (elapsed < seconds / 2) {
    for (int i = 0; i < count; i++) {
      sp_sentiment s;
      if (sp_sentiment_score_article(model, lines[i], lens[i], summary, summary_len, &s, NULL) != 0)
        return 1;
      checksum += s.score;
    }
    articles += (size_t)count;
    elapsed = now_seconds() - start;
  }
  double articles_per_second = articles / elapsed;

  printf("sentiment: %d distinct headlines (avg %.0f bytes), %zu scored\n", count,
         (double)bytes / (double)scored, scored);
  printf("headlines/s          %12.0f   (%.0f ns each)   target %.0f/s   ratio %.2fx\n", per_second,
         1e9 / per_second, TARGET_PER_SECOND, per_second / TARGET_PER_SECOND);
  printf("headline+summary/s   %12.0f   (%.0f ns each, summary %zu bytes)\n", articles_per_second,
         1e9 / articles_per_second, summary_len);
  printf("checksum %.6f\n", checksum);
  for (int i = 0; i < count; i++) free(lines[i]);
  return 0;
}
