// eval.js — accuracy and macro-F1 of stockpipe's sentiment scorer next to VADER's
// (npm vader-sentiment) on the labelled evaluation headlines, per split.
//
// Usage: node eval.js HEADLINES_TSV OUR_SCORES_TSV NODE_MODULES_DIR [--errors dev]
//   OUR_SCORES_TSV: one "score<TAB>label<TAB>subjectivity" line per headline, in order
//   (bench/sentiment_eval/score_lines.c).  --errors dev lists our misses on the
//   development half (never the held-out half: that one is for measuring only).
'use strict';
const fs = require('fs');
const path = require('path');

const [headlinesPath, oursPath, modulesDir] = process.argv.slice(2, 5);
const errorsSplit = process.argv[5] === '--errors' ? process.argv[6] : null;
const vader = require(path.join(modulesDir, 'vader-sentiment'));

const LABELS = ['positive', 'neutral', 'negative'];
// VADER's published thresholds on its compound score.
const vaderLabel = (c) => (c >= 0.05 ? 'positive' : c <= -0.05 ? 'negative' : 'neutral');

const rows = fs.readFileSync(headlinesPath, 'utf8').split('\n')
  .filter((l) => l && !l.startsWith('id\t'))
  .map((l) => { const [id, split, label, text] = l.split('\t'); return { id, split, label, text }; });
const ours = fs.readFileSync(oursPath, 'utf8').split('\n').filter((l) => l)
  .map((l) => { const [score, label] = l.split('\t'); return { score: Number(score), label }; });
if (ours.length !== rows.length) {
  console.error(`eval.js: ${rows.length} headlines but ${ours.length} scores`);
  process.exit(1);
}
for (const r of rows) {
  if (!LABELS.includes(r.label)) { console.error(`eval.js: headline ${r.id}: bad label ${r.label}`); process.exit(1); }
}

function metrics(gold, pred) {
  let correct = 0;
  const f1s = LABELS.map((c) => {
    let tp = 0, fp = 0, fn = 0;
    for (let i = 0; i < gold.length; i++) {
      if (pred[i] === c && gold[i] === c) tp++;
      else if (pred[i] === c) fp++;
      else if (gold[i] === c) fn++;
    }
    const p = tp + fp ? tp / (tp + fp) : 0, r = tp + fn ? tp / (tp + fn) : 0;
    return p + r ? (2 * p * r) / (p + r) : 0;
  });
  for (let i = 0; i < gold.length; i++) if (gold[i] === pred[i]) correct++;
  return { accuracy: correct / gold.length, macroF1: f1s.reduce((a, b) => a + b, 0) / LABELS.length };
}

const vaderPred = rows.map((r) => vaderLabel(vader.SentimentIntensityAnalyzer.polarity_scores(r.text).compound));
const oursPred = ours.map((o) => o.label);
const pct = (x) => (100 * x).toFixed(1).padStart(5);

console.log('split     n    | stockpipe acc  macro-F1 | VADER acc  macro-F1 | acc gain');
for (const split of ['dev', 'heldout', 'all']) {
  const idx = rows.map((r, i) => i).filter((i) => split === 'all' || rows[i].split === split);
  const gold = idx.map((i) => rows[i].label);
  const a = metrics(gold, idx.map((i) => oursPred[i]));
  const b = metrics(gold, idx.map((i) => vaderPred[i]));
  console.log(`${split.padEnd(8)} ${String(idx.length).padStart(4)}   |   ${pct(a.accuracy)} %   ${pct(a.macroF1)} % |  ${pct(b.accuracy)} %  ${pct(b.macroF1)} % | ${(100 * (a.accuracy - b.accuracy)).toFixed(1).padStart(5)} pts`);
}
if (errorsSplit) {
  console.log(`\nstockpipe misses on the ${errorsSplit} half (gold / ours score):`);
  rows.forEach((r, i) => {
    if (r.split === errorsSplit && oursPred[i] !== r.label)
      console.log(`${r.id}\t${r.label}\t${oursPred[i]} ${ours[i].score.toFixed(3)}\t${r.text}`);
  });
}
