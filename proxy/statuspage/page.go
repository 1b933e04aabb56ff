package statuspage

import (
	"bytes"
	"fmt"
	"html/template"
)

// renderPage returns the HTML page for r, which has been sanitized.
func renderPage(r Report) ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, newPageView(r)); err != nil {
		return nil, fmt.Errorf("statuspage: rendering page: %w", err)
	}
	return buf.Bytes(), nil
}

// pageTemplate is the status page: one self-contained HTML document with
// inline CSS and SVG, no script and no external asset. Narrow screens get
// the tables as stacked cards and the plots one under another.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"url": urlHTML}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>gofailover status</title>
<style>
:root{--fg:#1f2933;--muted:#5f6b7a;--line:#e3e8ee;--bg:#f4f6f9;--panel:#fff;
--ok:#146c2e;--ok-bg:#e3f4e8;--warn:#8a4b00;--warn-bg:#fff1d6;--bad:#b3261e;--bad-bg:#fde4e1;
--info:#1d4fd7;--info-bg:#e4ecff;--quar:#6b21a8;--quar-bg:#f2e6ff;--none:#4b5563;--none-bg:#eceff3}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--info)}
.top{background:#1f2933;color:#fff}
.top-in{max-width:1280px;margin:0 auto;padding:14px 24px;display:flex;flex-wrap:wrap;align-items:baseline;gap:2px 18px}
.top h1{margin:0;font-size:20px;font-weight:650;letter-spacing:.01em}
.top h1 span{font-weight:400;color:#cbd2d9}
.top p{margin:0;color:#cbd2d9;font-size:13px}
.top a{color:#fff}
.unverified{color:#1f2933;background:#ffd166;padding:0 6px;border-radius:4px}
main{max-width:1280px;margin:0 auto;padding:18px 24px 28px}
section{margin:0 0 22px}
h2{font-size:16px;margin:0 0 10px;font-weight:650}
h3{font-size:14px;margin:0;font-weight:650}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.verdict{border-left:6px solid var(--ok);background:var(--panel);border-radius:10px;padding:12px 16px;border-top:1px solid var(--line);border-right:1px solid var(--line);border-bottom:1px solid var(--line)}
.verdict.warn{border-left-color:#e8a200}.verdict.bad{border-left-color:var(--bad)}
.verdict strong{font-size:18px;display:block}
.verdict ul{margin:4px 0 0;padding-left:18px;color:var(--muted)}
.verdict li{overflow-wrap:break-word}
.url{overflow-wrap:normal;word-break:normal}.url>span{white-space:nowrap}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,200px),1fr));gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:10px 14px;border-top:4px solid var(--line)}
.card.ok{border-top-color:#34a853}.card.warn{border-top-color:#e8a200}.card.bad{border-top-color:var(--bad)}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}
.card .detail{color:var(--muted);font-size:13px}
.table-wrap{overflow-x:auto;background:var(--panel);border:1px solid var(--line);border-radius:10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th{text-align:left;color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em;padding:9px 10px;border-bottom:1px solid var(--line);white-space:nowrap;background:#fafbfc}
td{padding:9px 10px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr:last-child td{border-bottom:0}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{font-weight:600;min-width:12em}
.sub{display:block;color:var(--muted);font-size:12px;font-weight:400}
.swatch{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:7px;vertical-align:0}
.pref{display:inline-block;margin-left:6px;padding:0 6px;border:1px solid #9fb3d9;border-radius:999px;color:var(--info);font-size:11px;font-weight:600;vertical-align:1px;white-space:nowrap}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:650;white-space:nowrap;border:1px solid transparent}
.badge::before{content:"";display:inline-block;width:7px;height:7px;border-radius:50%;background:currentColor;margin-right:6px;vertical-align:1px}
.st-healthy,.al-resolved{color:var(--ok);background:var(--ok-bg)}
.st-degraded,.al-pending{color:var(--warn);background:var(--warn-bg)}
.st-open,.al-firing{color:var(--bad);background:var(--bad-bg)}
.st-half-open{color:var(--info);background:var(--info-bg)}
.st-quarantined{color:var(--quar);background:var(--quar-bg)}
.st-unknown,.al-unknown{color:var(--none);background:var(--none-bg)}
tr.trouble td:first-child{box-shadow:inset 4px 0 0 var(--trouble,#e8a200)}
tr.st-row-open,tr.st-row-quarantined{--trouble:var(--bad)}
.sev{display:inline-block;min-width:2.4em;text-align:center;padding:1px 6px;border-radius:4px;font-size:12px;font-weight:700;color:#fff}
.sev-p0{background:#b3261e}.sev-p1{background:#d46b08}.sev-p2{background:#8a6d00}.sev-other{background:#6b7280}
td.err{color:var(--muted);max-width:26em;overflow-wrap:anywhere}
.warn-text{color:var(--warn);font-weight:600}.bad-text{color:var(--bad);font-weight:650}
.empty{margin:0;color:var(--muted)}
.narrow-only{display:none}
td.up{min-width:12em}
.rule-inline{display:none}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:0 0 12px;padding:0;list-style:none;font-size:13px}
.legend.key{margin:0;gap:4px 14px;color:var(--muted)}
.legend li{display:flex;align-items:center}
.legend svg{width:30px;height:10px;margin-right:6px;flex:none}
.avail{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:10px 14px;margin-bottom:10px}
.strip-fig{margin:6px 0 0}
.strip-fig figcaption{font-size:13px;color:var(--muted)}
.strip-fig figcaption .sub{margin-left:6px}
svg.strip{display:block;border-radius:3px}
.metric{margin-bottom:14px}
.metric-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:0 10px;margin-bottom:6px}
.metric-head span{color:var(--muted);font-size:13px}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,340px),1fr));gap:12px}
figure{margin:0;background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:8px 10px 6px;min-width:0}
figcaption{font-size:13px;color:var(--muted);margin:0 0 2px 4px}
figcaption b{color:var(--fg);font-weight:600}
svg.plot{display:block;width:100%;height:auto;font-family:inherit}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,280px),1fr));gap:12px}
dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;font-size:14px}
dt{color:var(--muted)}dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
footer{max-width:1280px;margin:0 auto;padding:0 24px 24px;color:var(--muted);font-size:12px}
@media (max-width:720px){
.top-in{padding:12px 14px}
main{padding:12px 12px 20px}
.table-wrap{background:none;border:0;border-radius:0}
table.stack thead{display:none}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack tr{background:var(--panel);border:1px solid var(--line);border-radius:10px;margin:0 0 10px;padding:6px 12px}
table.stack td{display:flex;justify-content:space-between;align-items:baseline;gap:14px;padding:4px 0;border:0;text-align:right;white-space:normal;min-width:0;max-width:none}
table.stack td::before{content:attr(data-label);color:var(--muted);font-size:12px;font-weight:400;text-transform:uppercase;letter-spacing:.04em;text-align:left;flex:none}
table.stack td.lead{display:block;text-align:left;font-size:15px;padding:6px 0;border-bottom:1px solid var(--line);margin-bottom:2px}
table.stack td.lead::before{content:none}
table.stack td.wide{display:block;text-align:left}
table.stack td.wide .v{text-align:left}
table.stack .v{text-align:right;min-width:0}
table.stack td.wide-only{display:none}
table.stack td.narrow-only{display:flex}
.cards{grid-template-columns:repeat(2,minmax(0,1fr));gap:10px}
.card .value{font-size:21px}
svg.plot{font-size:16px}
table.stack .rule-inline{display:inline;margin-left:6px}
table.stack td.rule{display:none}
table.stack td.wide::before{display:block}
tr.trouble td:first-child{box-shadow:none}
table.stack tr.trouble{border-left:5px solid var(--trouble,#e8a200)}
}
</style>
</head>
<body>
<header class="top"><div class="top-in">
<h1>gofailover <span>status</span></h1>
<p>generated <time datetime="{{.GeneratedISO}}">{{.Generated}}</time> · version {{.Version}} · up {{.Uptime}} · checksum verification {{if .Verified}}{{.Verification}}{{else}}<strong class="unverified">off</strong>{{end}} · <a href="status.json">JSON</a></p>
</div></header>
<main>
<section id="verdict" class="verdict {{.Verdict.Class}}" role="status">
<strong>{{.Verdict.Headline}}</strong>
{{- with .Verdict.Details}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>

<section id="summary" class="cards" aria-label="Summary">
{{- range .Cards}}
<div class="card {{.Class}}"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div>{{with .Detail}}<div class="detail">{{.}}</div>{{end}}</div>
{{- end}}
</section>

<section id="upstreams">
<h2>Upstreams</h2>
<div class="table-wrap">
<table class="stack">
<thead><tr><th>Upstream</th><th>State</th><th>Since</th><th class="num">Score</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">Errors</th><th class="num">Traffic</th><th>Last error</th></tr></thead>
<tbody>
{{- range .Upstreams}}
<tr class="upstream{{if ne .State "healthy"}} trouble st-row-{{.State}}{{end}}" data-state="{{.State}}">
<td class="name lead"><span class="swatch" style="background:{{.Color}}"></span>{{url .Name}}{{if .Preferred}}<span class="pref" title="the preferred upstream: first in the configured order">preferred</span>{{end}}{{if .Private}}<span class="pref" title="serves private modules only">private</span>{{end}}</td>
<td data-label="State"><div class="v"><span class="badge {{.StateClass}}">{{.State}}</span>{{with .Until}}<span class="sub">next try {{.}}</span>{{end}}{{with .Why}}<span class="sub why">{{.}}</span>{{end}}</div></td>
<td data-label="Since"><div class="v">{{if .EpisodeSince}}<span class="episode" title="{{.Episode}} since {{.EpisodeFull}}">{{.Episode}} since {{.EpisodeSince}}</span><span class="sub">for {{.EpisodeFor}}</span>{{with .StateSince}}<span class="sub">{{.}}</span>{{end}}{{else}}<span title="{{.SinceFull}}">{{.Since}}</span><span class="sub">for {{.For}}</span>{{end}}</div></td>
<td class="num" data-label="Score">{{.Score}}</td>
<td class="num wide-only" data-label="p50">{{.P50}}</td>
<td class="num wide-only" data-label="p95">{{.P95}}</td>
<td class="num wide-only" data-label="p99">{{.P99}}</td>
<td class="num narrow-only" data-label="p50 / p95 / p99">{{.P50}} / {{.P95}} / {{.P99}}</td>
<td class="num" data-label="Errors"><div class="v"><span{{with .ErrorClass}} class="{{.}}-text"{{end}}>{{.ErrorRate}}</span><span class="sub">{{.Failures}}</span></div></td>
<td class="num" data-label="Traffic">{{.Traffic}}</td>
<td class="err wide" data-label="Last error"><div class="v">{{if .LastError}}<span title="{{.LastErrorFull}}">{{.LastError}}</span><span class="sub">{{.LastErrorAt}} ({{.LastErrorAgo}} ago)</span>{{else}}none{{end}}</div></td>
</tr>
{{- else}}
<tr><td colspan="10" class="lead">No upstreams configured.</td></tr>
{{- end}}
</tbody>
</table>
</div>
</section>

<section id="alerts">
<h2>Alerts</h2>
{{- if .Alerts}}
<div class="table-wrap">
<table class="stack">
<thead><tr><th>Severity</th><th>Rule</th><th>Upstream</th><th>State</th><th>Since</th><th class="num">Value</th><th class="num">Threshold</th><th>Summary</th></tr></thead>
<tbody>
{{- range .Alerts}}
<tr class="alert" data-state="{{.State}}">
<td class="lead"><span class="sev {{.SeverityClass}}">{{.Severity}}</span> <span class="rule-inline">{{.Rule}}</span></td>
<td class="rule" data-label="Rule">{{.Rule}}</td>
<td data-label="Upstream" class="up">{{url .Upstream}}</td>
<td data-label="State"><span class="badge {{.StateClass}}">{{.State}}</span></td>
<td data-label="Since"><span title="{{.WhenFull}}">{{.When}}</span></td>
<td class="num" data-label="Value">{{.Value}}</td>
<td class="num" data-label="Threshold">{{.Threshold}}</td>
<td class="wide" data-label="Summary">{{.Summary}}</td>
</tr>
{{- end}}
</tbody>
</table>
</div>
{{- else}}
<p class="panel empty">No alerts.</p>
{{- end}}
</section>

{{- with .Shared}}
<section id="shared-store" data-state="{{.State}}">
<h2>Shared store</h2>
<div class="panel"><dl>
<dt>Store</dt><dd>{{url .Name}}</dd>
<dt>State</dt><dd><span class="badge {{.StateClass}}">{{.State}}</span> <span title="{{.EpisodeFull}}">{{.Episode}}</span></dd>
{{- range .Facts}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end -}}
</dl></div>
</section>
{{- end}}

<section id="availability">
<h2>Availability</h2>
<ul class="legend" aria-label="Slot colours">
<li><span class="swatch" style="background:#34a853"></span>healthy</li><li><span class="swatch" style="background:#e8a200"></span>degraded</li><li><span class="swatch" style="background:#b3261e"></span>down (open, half-open, quarantined)</li><li><span class="swatch" style="background:#d5dae1"></span>no data</li>
</ul>
{{- range .Strips}}
<div class="avail" data-upstream="{{.Name}}">
<h3><span class="swatch" style="background:{{.Color}}"></span>{{url .Name}}</h3>
{{- range .Ranges}}
<figure class="strip-fig"><figcaption>{{.Caption}} <span class="sub">{{.Summary}}</span></figcaption>{{.SVG}}</figure>
{{- end}}
</div>
{{- else}}
<p class="panel empty">No upstreams configured.</p>
{{- end}}
</section>

<section id="trends">
<h2>Trends</h2>
<ul class="legend" aria-label="Legend">
{{- range .Legend}}
<li><span class="swatch" style="background:{{.Color}}"></span>{{url .Label}}</li>
{{- end}}
</ul>
{{- range .Metrics}}
<div class="metric" id="plot-{{.ID}}">
<div class="metric-head"><h3>{{.Title}}</h3>
{{- if .Key}}<ul class="legend key" aria-label="Line styles">
{{- range .Key}}<li><svg viewBox="0 0 30 10" aria-hidden="true"><line x1="1" y1="5" x2="29" y2="5" stroke="#1f2933" stroke-width="2"{{with .Dash}} stroke-dasharray="{{.}}"{{end}}/></svg>{{.Label}}</li>{{end -}}
</ul>{{else}}<span>{{.Note}}</span>{{end}}</div>
<div class="plots">
{{- range .Plots}}
<figure><figcaption>{{.Caption}}</figcaption>{{.SVG}}</figure>
{{- else}}
<p class="panel empty">No history yet.</p>
{{- end}}
</div>
</div>
{{- end}}
</section>

<section id="server" class="facts">
<div class="panel"><h2>Cache</h2><dl>
{{- range .Cache}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end -}}
</dl></div>
<div class="panel"><h2>Server</h2><dl>
{{- range .Server}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end -}}
</dl></div>
</section>
</main>
<footer>Times are {{.Zone}}. The page reloads every minute; <a href="status.json">status.json</a> has the same data.</footer>
</body>
</html>
`))
