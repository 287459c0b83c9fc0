# bench/chart.gp - the chart of bench/run.sh: six panels, one bar per server
# (median, whiskers min-max). Called as
#   gnuplot -e "datadir='DIR'; out='FILE.png'" bench/chart.gp
# with DIR/p0.dat .. p5.dat written by bench/report.py ("server median min max").
set terminal pngcairo size 1500,850 font "sans,10"
set output out
set multiplot layout 2,3 title "socketio-c benchmarks (server on CPU 0, sio-bench on CPU 1)"
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set format y "%.1s%c"
unset key
set xtics nomirror
titles = "'echo round trips/s (higher is better)' 'broadcast deliveries/s, 1k receivers' 'broadcast deliveries/s, 10k receivers' 'connections/s' 'idle bytes per connection at 19.9k (lower)' 'echo p99 us at half Node peak (lower)'"
do for [i=0:5] {
  set title word(titles, i+1)
  f = sprintf("%s/p%d.dat", datadir, i)
  plot f using 0:2:xtic(1) with boxes lc rgb "#4a7ebb", \
       f using 0:2:3:4 with yerrorbars lc rgb "black" pt 0
}
unset multiplot
