// A stacked bar chart in SVG (no chart library: the initial load stays
// small), with the same figures in a table for screen readers and keyboard
// users. Fixed height, so nothing moves when the data arrives.

const COLOURS = ['#1f5fa8', '#b3541e', '#2f7d32', '#7b3fa0', '#8a6d00', '#00727a'];

export interface Series {
  label: string;
  /** One value per category. */
  values: number[];
}

export function BarChart({ title, categories, series }: { title: string; categories: string[]; series: Series[] }) {
  const width = 640;
  const height = 180;
  const totals = categories.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const band = width / Math.max(1, categories.length);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={`${title}: see the table below`} preserveAspectRatio="none">
        {categories.map((c, i) => {
          let y = height;
          return (
            <g key={c}>
              {series.map((s, k) => {
                const h = ((s.values[i] ?? 0) / max) * (height - 10);
                y -= h;
                return <rect key={s.label} x={i * band + 2} y={y} width={Math.max(1, band - 4)} height={h} fill={COLOURS[k % COLOURS.length]} />;
              })}
              {(categories.length <= 16 || i % 2 === 0) && (
                <text x={i * band + band / 2} y={height + 14} textAnchor="middle" fontSize="10" fill="#333">
                  {c.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {series.map((s, k) => (
          <span key={s.label} className="legend">
            <span className="swatch" data-colour={k % COLOURS.length} aria-hidden="true" /> {s.label}
          </span>
        ))}
      </figcaption>
      <details>
        <summary>{title}: figures</summary>
        <div className="table-wrap">
          <table>
            <caption>{title}</caption>
            <thead>
              <tr>
                <th scope="col">Day</th>
                {series.map((s) => (
                  <th key={s.label} scope="col">
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {categories.map((c, i) => (
                <tr key={c}>
                  <th scope="row">{c}</th>
                  {series.map((s) => (
                    <td key={s.label}>{s.values[i] ?? 0}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
