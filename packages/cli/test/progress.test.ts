import { describe, expect, it } from 'vitest';
import { evaluationLine, formatDuration, parseJsonLines, plainProgress, progressLine, toCsv, toJsonLines, type MetricsRow } from '@foldnet/cli';

describe('progress when stdout is not a terminal', () => {
  it('1000 steps with a fake clock at 10 steps/s: a line every 100 steps (10%), 10 lines in all', () => {
    const lines: string[] = [];
    let t = 0;
    const p = plainProgress({ total: 1000, startStep: 0, tty: false, write: (s) => lines.push(s), now: () => t, intervalSeconds: 1e9 });
    for (let step = 1; step <= 1000; step++) {
      t += 100;
      p.step(step, 1 / step);
    }
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('step 100/1000 (10%)  loss 0.0100  10.0 steps/s  ETA 1 min 30 s\n');
    expect(lines[9]).toMatch(/^step 1000\/1000 \(100%\)/);
  });

  it('slow steps (1 per 3 s) print at the time interval of 5 s, i.e. every second step', () => {
    const lines: string[] = [];
    let t = 0;
    const p = plainProgress({ total: 1000, startStep: 0, tty: false, write: (s) => lines.push(s), now: () => t });
    for (let step = 1; step <= 10; step++) {
      t += 3000;
      p.step(step, 0.5);
    }
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['2/1000', '4/1000', '6/1000', '8/1000', '10/1000']);
  });

  it('a resumed run counts speed from its own first step (startStep 500)', () => {
    const lines: string[] = [];
    let t = 0;
    const p = plainProgress({ total: 600, startStep: 500, tty: false, write: (s) => lines.push(s), now: () => t, intervalSeconds: 1e9 });
    for (let step = 501; step <= 600; step++) {
      t += 50;
      p.step(step, 0.25);
    }
    expect(lines[lines.length - 1]).toBe('step 600/600 (100%)  loss 0.2500  20.0 steps/s  ETA 0.0 s\n');
  });

  it('durations read as seconds, minutes or hours', () => {
    expect(formatDuration(3.21)).toBe('3.2 s');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(245)).toBe('4 min 05 s');
    expect(formatDuration(3720)).toBe('1 h 02 min');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
    expect(progressLine(1, 3, 2, 0.5, 4)).toBe('step 1/3 (33%)  loss 2.0000  0.5 steps/s  ETA 4.0 s');
  });
});

describe('metrics files', () => {
  const first: MetricsRow = { step: 10, loss: 2.05, train_acc: 0.389, test_acc: 0.398, test_loss: 2.01, elapsed_s: 1.5 };
  const rows: MetricsRow[] = [
    { step: 10, loss: 2.05, train_acc: 0.389, test_acc: 0.398, test_loss: 2.01, elapsed_s: 1.5 },
    { step: 20, loss: Number.NaN, train_acc: 0.5, test_acc: 0.49 },
  ];

  it("the lesson's evaluation line: step 10: train acc 0.3890, test acc 0.3980", () => {
    expect(evaluationLine(first)).toBe('step 10: train acc 0.3890, test acc 0.3980');
  });

  it('metrics.jsonl: one object per line with step, loss, train_acc, test_acc; NaN written as null; read back equal', () => {
    const text = toJsonLines(rows);
    expect(text.split('\n')).toEqual([
      '{"step":10,"loss":2.05,"train_acc":0.389,"test_acc":0.398,"test_loss":2.01,"elapsed_s":1.5}',
      '{"step":20,"loss":null,"train_acc":0.5,"test_acc":0.49}',
      '',
    ]);
    const back = parseJsonLines(`${text}not json\n{"nostep":1}\n`);
    expect(back).toHaveLength(2);
    expect(back[0]).toEqual(rows[0]);
    expect(back[1]?.loss).toBeNaN();
  });

  it('metrics.csv: a header and one line per evaluation, unknown cells empty', () => {
    expect(toCsv(rows)).toBe('step,loss,train_acc,test_acc,test_loss,elapsed_s\n10,2.05,0.389,0.398,2.01,1.5\n20,,0.5,0.49,,\n');
  });
});
