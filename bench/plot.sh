#!/usr/bin/env bash
# Draws bench/comparison.png from bench/comparison.dat with gnuplot (installs
# gnuplot-nox when missing). Ratios are oriented so that higher is better.
set -euo pipefail
cd "$(dirname "$0")"
command -v gnuplot >/dev/null || apt-get install -y -qq gnuplot-nox >/dev/null
gnuplot <<'GP'
set terminal pngcairo size 1900,540 font "sans,10" noenhanced
set output "comparison.png"
set title "Atoll against native peers, same machine, same run (1.0 = parity; higher is better)"
set style fill solid 0.8 border -1
set boxwidth 0.6
set yrange [0:2.4]
set grid ytics
set ylabel "ratio"
set bmargin 6
set xtics font "sans,8"
set arrow from graph 0, first 1.0 to graph 1, first 1.0 nohead dt 2 lc rgb "#444444"
unset key
plot "comparison.dat" using 0:2:xtic(1) with boxes lc rgb "#0b6e69", \
     "" using 0:($2 + 0.04):(sprintf("%.2f", $2)) with labels
GP
echo "bench/comparison.png"
