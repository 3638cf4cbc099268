export { Counter } from './counter.ts';
export { Tally } from './tally.ts';
export { Histogram } from './histogram.ts';
export { TimeWeighted } from './time-weighted.ts';
export { TimeSeries, type SeriesKind, type SeriesPoint } from './time-series.ts';
export { summarizeReplications, type ReplicationSummary } from './replication.ts';
export { studentTCdf, studentTQuantile } from './student-t.ts';
