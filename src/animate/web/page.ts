/** The player's HTML page (the code is player.js; this is layout and style only). */
export function pageHtml(title: string): string {
  const esc = title.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc} · animgs player</title>
<style>
  html, body { margin: 0; height: 100%; background: #202124; color: #e8eaed; font: 14px system-ui, sans-serif; }
  #stage { position: relative; display: flex; justify-content: center; align-items: center; height: calc(100% - 56px); }
  canvas { height: 100%; max-width: 100%; object-fit: contain; touch-action: none; cursor: grab; background: #fff; }
  #overlay { position: absolute; inset: 0; display: flex; flex-direction: column; justify-content: center; align-items: center; gap: 12px; background: #202124e0; }
  #overlay[hidden] { display: none; }
  progress { width: min(420px, 80%); height: 14px; }
  #error { max-width: 640px; padding: 16px 20px; border-radius: 6px; background: #5c1d1d; color: #fff; white-space: pre-wrap; }
  #error[hidden] { display: none; }
  #bar { display: flex; gap: 10px; align-items: center; height: 56px; padding: 0 12px; box-sizing: border-box; background: #2d2e31; }
  #bar input[type=range] { flex: 1; }
  #bar button, #bar select { background: #3c4043; color: inherit; border: 1px solid #5f6368; border-radius: 4px; padding: 4px 8px; }
  #stats { font-variant-numeric: tabular-nums; min-width: 220px; text-align: right; opacity: 0.85; }
</style>
</head>
<body>
<div id="stage">
  <canvas id="view" width="1024" height="1024"></canvas>
  <div id="overlay"><div id="status">loading…</div><progress id="progress" max="1" value="0"></progress><div id="error" hidden></div></div>
</div>
<div id="bar">
  <button id="play" title="play / pause (space)">pause</button>
  <input id="timeline" type="range" min="0" max="0" value="0" step="1" aria-label="frame">
  <span id="frame">0 / 0</span>
  <select id="motion" aria-label="motion"></select>
  <select id="background" aria-label="background">
    <option value="1,1,1">white</option><option value="0,0,0">black</option>
    <option value="0.5,0.5,0.5">grey</option><option value="0,0.69,0.31">green</option>
  </select>
  <span id="stats">–</span>
</div>
<script type="module" src="player.js"></script>
</body>
</html>
`;
}
