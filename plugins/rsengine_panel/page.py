"""The panel's page: plotly from ``/plotly.min.js``, the figure from
``/figure.json``, asked for again every ``refresh`` seconds and redrawn with
``Plotly.react`` when its version changed. When the engine stops answering
(the run ended) the page says so and keeps asking, so a new run on the same
port shows up in it."""

from __future__ import annotations

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>rsengine live RS panel</title>
<link rel="icon" href="data:,">
<script src="/plotly.min.js"></script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 12px; }}
#status {{ color: #555; font-size: 13px; }}
#rs-panel {{ width: 100%; min-height: 640px; }}
</style></head>
<body>
<div id="status">connecting...</div>
<div id="rs-panel"></div>
<script>
"use strict";
const REFRESH_MS = {refresh_ms};
let version = -1;
function say(text) {{ document.getElementById("status").textContent = text; }}
async function poll() {{
  try {{
    const answer = await fetch("/figure.json?after=" + version, {{cache: "no-store"}});
    if (answer.status === 200) {{
      const body = await answer.json();
      await Plotly.react("rs-panel", body.figure.data, body.figure.layout,
                         {{displaylogo: false, responsive: true}});
      version = body.version;
      document.body.dataset.version = String(version);
      say(body.session ? "session " + body.session + ", update " + version
                       : "waiting for the first slice");
    }} else if (answer.status !== 204) {{
      say("the engine answered " + answer.status);
    }}
  }} catch (error) {{
    say("the engine does not answer (the run ended?): " + error);
  }}
  setTimeout(poll, REFRESH_MS);
}}
poll();
</script>
</body></html>
"""


def page_html(refresh: float) -> str:
    return PAGE.format(refresh_ms=round(refresh * 1000))
