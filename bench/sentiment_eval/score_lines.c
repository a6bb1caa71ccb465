/*
 * score_lines.c — print stockpipe's sentiment for each line of standard input, as
 * "score<TAB>label<TAB>subjectivity".  Used by bench/sentiment_eval/run.sh to score
 * the evaluation headlines; not part of the installed program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/sentiment.h"

int main(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  const sp_sentiment_model *model = sp_sentiment_model_default();
  while ((n = getline(&line, &cap, stdin)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    sp_sentiment s;
    sp_error err;
    if (sp_sentiment_score(model, line, (size_t)n, &s, &err) != 0) {
      fprintf(stderr, "score_lines: %s\n", err.msg);
      free(line);
      return 1;
    }
    printf("%.6f\t%s\t%.6f\n", s.score, sp_sentiment_label_name(s.label), s.subjectivity);
  }
  free(line);
  return 0;
}
