#include "report/page_style.h"

namespace nasforge::report {

const char* page_style() {
  return R"CSS(
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       margin: 0 auto; max-width: 1180px; padding: 12px 16px 40px; background: #fff; }
h1 { margin: 4px 0; font-size: 24px; } h2 { font-size: 18px; margin: 22px 0 8px;
  border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.generated, .note { color: #555; font-size: 13px; }
.plots { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 2px; }
figure .note { max-width: 560px; margin: 2px 0 0; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .axis-label { font-size: 12px; } svg .box-title { font-weight: 600; font-size: 13px; }
.frame { fill: #fcfcfc; stroke: #999; } .grid { stroke: #e6e6e6; }
.plot-empty { width: 528px; height: 120px; padding: 90px 16px; border: 1px dashed #bbb;
  color: #666; background: #fafafa; text-align: center; }
circle.point, circle.swatch { fill: #1f77b4; stroke: #fff; stroke-width: .8; }
circle.pruned, g.pruned { opacity: .3; } circle.pruned, .pruned circle { fill: #888; }
path.pruned, .pruned path { stroke: #888; }
circle.failed { fill: #d62728; }
circle.best-trial { fill: #ff7f0e; r: 6px; stroke: #222; stroke-width: 1.2; }
circle.pareto { fill: #d62728; r: 5px; }
path { fill: none; }
path.best-line, path.pareto-line { stroke: #d62728; stroke-width: 2; }
.curve path { stroke-width: 1.6; } .curve circle { r: 2.5px; stroke: none; }
g.running path, path.running { stroke: #ff7f0e; stroke-dasharray: 5 3; }
g.running circle { fill: #ff7f0e; }
path.population-max { stroke: #2ca02c; stroke-width: 2; }
path.population-median { stroke: #1f77b4; stroke-width: 2; }
path.population-min { stroke: #9467bd; stroke-width: 2; }
circle.member { fill: #ff7f0e; }
circle.kind-new { fill: #1f77b4; } circle.kind-promotion { fill: #2ca02c; }
circle.kind-extension { fill: #9467bd; }
path.promotion-line, path.extension-line { stroke: #2ca02c; stroke-width: 1.2; }
.c0 path, path.c0 { stroke: #1f77b4; } .c0 circle, circle.c0 { fill: #1f77b4; }
.c1 path, path.c1 { stroke: #ff7f0e; } .c1 circle, circle.c1 { fill: #ff7f0e; }
.c2 path, path.c2 { stroke: #2ca02c; } .c2 circle, circle.c2 { fill: #2ca02c; }
.c3 path, path.c3 { stroke: #d62728; } .c3 circle, circle.c3 { fill: #d62728; }
.c4 path, path.c4 { stroke: #9467bd; } .c4 circle, circle.c4 { fill: #9467bd; }
.c5 path, path.c5 { stroke: #8c564b; } .c5 circle, circle.c5 { fill: #8c564b; }
.c6 path, path.c6 { stroke: #e377c2; } .c6 circle, circle.c6 { fill: #e377c2; }
.c7 path, path.c7 { stroke: #7f7f7f; } .c7 circle, circle.c7 { fill: #7f7f7f; }
.c8 path, path.c8 { stroke: #bcbd22; } .c8 circle, circle.c8 { fill: #bcbd22; }
.c9 path, path.c9 { stroke: #17becf; } .c9 circle, circle.c9 { fill: #17becf; }
path.swatch { stroke-width: 2.5; }
.diagram-box { overflow-x: auto; } svg.diagram { max-width: 100%; height: auto; }
rect.io { fill: #f3f3f3; stroke: #888; }
rect.stem-box, rect.head-box { fill: #eef3f8; stroke: #5b7fa6; }
rect.block { stroke: #444; } rect.basic { fill: #dbeafb; } rect.bottleneck { fill: #fde7cf; }
rect.dense { fill: #dcf3dc; } rect.unit { fill: #555; }
path.arrow { stroke: #444; stroke-width: 1.5; }
path.edge { stroke: #1f77b4; stroke-width: 2.5; }
path.op-none { stroke: #bbb; stroke-dasharray: 6 4; }
path.op-skip_connect { stroke: #2ca02c; } path.op-avg_pool_3x3 { stroke: #9467bd; }
path.op-nor_conv_1x1 { stroke: #ff7f0e; }
text.op { font-size: 12px; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
circle.node { fill: #fff; stroke: #222; stroke-width: 2; } text.node-label { font-weight: 700; }
table { border-collapse: collapse; font-size: 12.5px; }
table.summary th { text-align: left; padding: 2px 14px 2px 0; color: #555; font-weight: 500; }
table.state th { text-align: left; padding: 2px 14px 2px 0; font-weight: 500; }
#trials th { position: sticky; top: 0; background: #f0f0f0; cursor: pointer; padding: 4px 6px;
  border-bottom: 2px solid #bbb; white-space: nowrap; user-select: none; }
#trials th[aria-sort=ascending]::after { content: " \25B2"; }
#trials th[aria-sort=descending]::after { content: " \25BC"; }
#trials td { padding: 3px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
#trials td.num { text-align: right; font-variant-numeric: tabular-nums; }
#trials td.arch, #trials td.hparams { font-family: ui-monospace, monospace; font-size: 11.5px; }
#trials td.arch { word-break: break-all; } #trials td.hparams { overflow-wrap: anywhere; }
#trials tr.pruned td, #trials tr.pending td { color: #888; }
#trials tr.failed td.state { color: #d62728; } #trials tr.running td.state { color: #ff7f0e; }
code { font-size: 12.5px; word-break: break-all; }
)CSS";
}

}  // namespace nasforge::report
