# bench/plot.gp: time and peak memory against the number of entries, both
# implementations (directory store), log scales. Called by bench/bench.py:
#   gnuplot -e "data='plot.dat'; out='benchmarks.svg'" bench/plot.gp
# plot.dat holds one block per series, named by its first line ("# dir C"):
# entries, seconds, peak RSS in MiB.
if (!exists("term")) term = 'svg size 1000,420 dynamic font "sans,12" background rgb "white"'
set terminal @term
set output out
set logscale xy
set grid
set key top left
set xlabel "entries"
set format x "10^{%L}"
set xrange [500:5e6]

set multiplot layout 1,2 title "backend-checks-results vs the Python reference (directory store)"
set ylabel "seconds"
set title "time"
plot data index "dir Python" using 1:2 with linespoints lw 2 pt 7 title "Python reference", \
     data index "dir C" using 1:2 with linespoints lw 2 pt 5 title "C", \
     data index "dir copy floor" using 1:2 with linespoints lw 1 dt 2 pt 1 title "copy floor", \
     data index "big C" using 1:2 with points pt 4 ps 1.5 title "C, 5 GiB in 44 files"

set ylabel "peak RSS (MiB)"
set title "peak memory"
set yrange [1:10000]
plot data index "dir Python" using 1:3 with linespoints lw 2 pt 7 title "Python reference", \
     data index "dir C" using 1:3 with linespoints lw 2 pt 5 title "C", \
     data index "big C" using 1:3 with points pt 4 ps 1.5 title "C, 5 GiB in 44 files"
unset multiplot
