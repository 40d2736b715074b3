/* Writes the settings table (src/settings.h) as Markdown on stdout: README.md's
 * table of settings, put there and checked by scripts/readme-settings.sh. */
#include <stdio.h>

#include "settings.h"

int main(void)
{
    settings_write_markdown(stdout);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
