# bench/prod.gp: duration and cost per invocation against Lambda's memory size (the "power
# tuning" curve), the step and the Python reference. Called by bench/prod.py:
#   gnuplot -e "data='prod.dat'; out='prod.svg'; delay='20'" bench/prod.gp
# prod.dat holds one block per series, named by its first line ("# C 10000"): memory MB,
# seconds, dollars per invocation (x86_64 duration charge).
if (!exists("term")) term = 'svg size 1100,520 dynamic font "sans,12" background rgb "white"'
set terminal @term
set output out
set logscale xy
set grid
set key outside below vertical maxrows 3 noenhanced
set xlabel "memory size (MB)"
set xtics (128, 256, 512, 1024, 1769, 3008)
set xrange [100:3500]

set multiplot layout 1,2 title "C vs the Python reference at Lambda's CPU share; S3 at ".delay." ms, 75 MB/s (gaps: killed or timed out)" noenhanced
set title "duration"
set ylabel "seconds"
plot data index "Python 10000" using 1:2 with linespoints lw 2 pt 7 lc 1 title "Python, 10,000 entries", \
     data index "C 10000" using 1:2 with linespoints lw 2 pt 5 lc 2 title "C, 10,000", \
     data index "request floor 10000" using 1:2 with linespoints lw 1 dt 2 pt 1 lc 2 title "request floor, 10,000", \
     data index "Python 100000" using 1:2 with linespoints lw 2 pt 6 lc 3 title "Python, 100,000", \
     data index "C 100000" using 1:2 with linespoints lw 2 pt 4 lc 4 title "C, 100,000", \
     data index "request floor 100000" using 1:2 with linespoints lw 1 dt 2 pt 1 lc 4 title "request floor, 100,000"

set title "cost per invocation (x86\\_64, duration only)"
set ylabel "US dollars"
set format y "%.0e"
plot data index "Python 10000" using 1:3 with linespoints lw 2 pt 7 lc 1 title "Python, 10,000", \
     data index "C 10000" using 1:3 with linespoints lw 2 pt 5 lc 2 title "C, 10,000", \
     data index "Python 100000" using 1:3 with linespoints lw 2 pt 6 lc 3 title "Python, 100,000", \
     data index "C 100000" using 1:3 with linespoints lw 2 pt 4 lc 4 title "C, 100,000"
unset multiplot
