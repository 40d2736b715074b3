# bench/plot.gp: time and peak memory against the number of entries, both
# implementations (directory store), log scales. Called by bench/bench.py:
#   gnuplot -e "data='results.tsv'; out='benchmarks.svg'" bench/plot.gp
set terminal svg size 1000,420 dynamic font "sans,12" background rgb "white"
set output out
set datafile separator "\t"
set logscale xy
set grid
set key top left
set xlabel "entries"
set format x "10^{%L}"
sel(c, i, col) = (strcol(1) eq c && strcol(2) eq i) ? column(col) : NaN

set multiplot layout 1,2 title "backend-checks-results vs the Python reference (directory store)"
set ylabel "seconds"
set title "time"
plot data every ::1 using (sel("dir","Python",3)):(sel("dir","Python",6)) with linespoints lw 2 pt 7 title "Python reference", \
     data every ::1 using (sel("dir","C",3)):(sel("dir","C",6)) with linespoints lw 2 pt 5 title "C", \
     data every ::1 using (sel("dir","copy_floor",3)):(sel("dir","copy_floor",6)) with linespoints lw 1 dt 2 pt 1 title "copy floor", \
     data every ::1 using (sel("big","C",3)):(sel("big","C",6)) with points pt 4 ps 1.5 title "C, 5 GiB in many files"

set ylabel "peak RSS (MiB)"
set title "peak memory"
plot data every ::1 using (sel("dir","Python",3)):(sel("dir","Python",7)/1024) with linespoints lw 2 pt 7 title "Python reference", \
     data every ::1 using (sel("dir","C",3)):(sel("dir","C",7)/1024) with linespoints lw 2 pt 5 title "C", \
     data every ::1 using (sel("big","C",3)):(sel("big","C",7)/1024) with points pt 4 ps 1.5 title "C, 5 GiB in many files"
unset multiplot
