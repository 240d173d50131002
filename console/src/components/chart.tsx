/**
 * A time-series chart (uPlot): one per source on the overview. uPlot draws on a canvas and
 * writes its legend with textContent; the series labels are the console's own counter names.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface SeriesSpec {
  label: string;
  color: string;
}

/** `x`: Unix seconds; `ys`: one array per series, aligned with `x`. */
export function Chart({
  title,
  x,
  ys,
  series,
  height = 220,
}: {
  title: string;
  x: number[];
  ys: number[][];
  series: SeriesSpec[];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    const opts: uPlot.Options = {
      title,
      width: Math.max(320, el.clientWidth),
      height,
      scales: { x: { time: true } },
      axes: [{}, { size: 50 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, points: { show: false } }))],
    };
    plot.current = new uPlot(opts, [x, ...ys], el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(320, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [title, x, ys, series, height]);

  return <div class="chart" ref={box} />;
}
