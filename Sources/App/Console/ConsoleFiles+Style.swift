extension ConsoleFiles {
    /// The one style sheet: a plain layout that works from 390 px wide up.
    static let style = ConsoleAsset(name: "style.css", contentType: "text/css; charset=utf-8", text: #"""
:root { --ink: #1d2430; --muted: #6b7280; --line: #e3e6ea; --bg: #f7f8fa; --accent: #2f5bd3; --ok: #1f8a4c; --bad: #c0392b; --wait: #b7791f; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
header#bar { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; padding: 0.6rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
header#bar .brand { font-weight: 700; color: var(--ink); text-decoration: none; }
header#bar nav { flex: 1; display: flex; flex-wrap: wrap; gap: 0.9rem; }
header#bar .who { color: var(--muted); font-size: 0.9em; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.35rem; word-break: break-all; }
h2 { font-size: 1.05rem; margin-top: 1.5rem; }
a { color: var(--accent); }
button, input, select { font: inherit; padding: 0.35rem 0.6rem; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
button { cursor: pointer; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { color: var(--bad); border-color: var(--bad); }
form, .filters, .actions, .approval, .retry { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: flex-end; margin: 0.5rem 0; }
.signin { max-width: 360px; }
.signin form { flex-direction: column; align-items: stretch; background: #fff; padding: 1rem; border: 1px solid var(--line); border-radius: 8px; }
label { display: flex; flex-direction: column; gap: 0.2rem; font-size: 0.9em; color: var(--muted); }
.scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.8rem; background: #eef1f5; vertical-align: middle; }
.badge.succeeded { background: #e3f5ea; color: var(--ok); }
.badge.failed, .badge.cancelled { background: #fbe9e7; color: var(--bad); }
.badge.running, .badge.queued { background: #e8eefc; color: var(--accent); }
.badge.awaiting_approval, .badge.awaiting { background: #fdf3e1; color: var(--wait); }
.muted { color: var(--muted); }
.error { color: var(--bad); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.facts dt, .step dt { color: var(--muted); }
.timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--line); }
.step { position: relative; margin: 0 0 0.8rem 0.9rem; padding: 0.6rem 0.8rem; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.step::before { content: ""; position: absolute; left: -1.45rem; top: 0.9rem; width: 0.7rem; height: 0.7rem; border-radius: 50%; background: var(--line); }
.step.succeeded::before { background: var(--ok); }
.step.failed::before { background: var(--bad); }
.step.running::before, .step.awaiting::before { background: var(--wait); }
.step-head { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.step dl { display: grid; grid-template-columns: repeat(4, max-content 1fr); gap: 0.1rem 0.6rem; margin: 0.4rem 0 0; font-size: 0.9em; }
pre.json { margin: 0.3rem 0 0; padding: 0.5rem; background: #f3f4f6; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; font-size: 0.85em; }
.pages { display: flex; gap: 1rem; }
h3 { font-size: 0.95rem; margin: 1rem 0 0.3rem; }
.ok { color: var(--ok); }
.more { margin-top: 0.4rem; }
.once { margin: 0.5rem 0; padding: 0.6rem; background: #fffbe6; border: 1px solid #f0e0a0; border-radius: 6px; }
.once p { margin: 0 0 0.3rem; }
code.secret { word-break: break-all; margin-right: 0.5rem; }
.scopes { display: flex; flex-wrap: wrap; gap: 0.2rem 0.8rem; }
label.check { flex-direction: row; align-items: center; gap: 0.3rem; color: var(--ink); }
td pre.json { max-width: 28rem; }
@media (max-width: 600px) {
  main { padding: 0.6rem; }
  .step dl { grid-template-columns: max-content 1fr; }
  header#bar nav { flex-basis: 100%; order: 3; }
}
"""#)
}
