/*
 * textline — walk the lines of a text held in memory (configuration-like
 * files read whole: auth files, sender lists).  A line ends at LF; a CR
 * just before the LF is dropped too (files edited on other systems); the
 * last line may lack its LF.  Pure, no allocation.
 */
#ifndef POSTERN_TEXTLINE_H
#define POSTERN_TEXTLINE_H

#include <stddef.h>

/*
 * From *off, set *line and *n to the next line (without its line end) and
 * move *off past it.  Returns 0 once the text is used up.
 */
int	textline_next(const char *text, size_t len, size_t *off,
	    const char **line, size_t *n);

#endif
