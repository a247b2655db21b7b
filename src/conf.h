/* conf — command-line flags and config-file keys from one table.
 *
 * Every option has a long flag (--name) and the config key of the same
 * name (mixproxy.conf(5)); some have a short flag.  The command line wins
 * over the file: argv is parsed first and remembers what it set, then the
 * file fills in the rest.  The file parser is a push API (feed bytes,
 * then finish) so the unit tests and the fuzzer drive it unchanged. */
#ifndef MIXPROXY_CONF_H
#define MIXPROXY_CONF_H

#include <stddef.h>
#include <stdint.h>

enum opt_type {
	OPT_STR,   /* char *, strdup'ed; NULL = unset */
	OPT_U64,   /* uint64_t within [min, max] */
	OPT_DBL,   /* double within [min, max] */
	OPT_FLAG,  /* int, 1 when given (config: yes/no/true/false/1/0) */
	OPT_COUNT, /* int, +1 each time (-v -v); config: a number */
};

struct opt {
	const char *name;  /* long flag and config key */
	int short_flag;    /* 0: none */
	enum opt_type type;
	const char *arg;   /* argument name for -h, NULL for flags */
	const char *help;
	void *dst;
	double min, max;   /* numeric bounds */
	int cli_set;       /* set by the command line (filled in by the parser) */
};

#define CONF_ERR_MAX 256

/* Parse argv[1..] (argv[0] is the command name).  Positional arguments
 * are not accepted unless npos is non-NULL: then they are stored in
 * pos[0..maxpos) and counted in *npos.  Returns 0, 1 for -h/--help (usage
 * printed by the caller), or -1 with a one-line reason in err. */
int conf_parse_argv(struct opt *opts, size_t nopts, int argc, char **argv,
                    char **pos, int maxpos, int *npos, char *err, size_t errsz);

/* Apply one key = value (from a file); options set on the command line
 * are left alone.  The keys "config" and "check-config" are refused: they
 * are about reading the file, not settings.  0 or -1 + err. */
int conf_set(struct opt *opts, size_t nopts, const char *key, const char *val,
             char *err, size_t errsz);

/* The push parser of the file format: lines of `key = value`, `#` comments,
 * blank lines; values may be "double quoted".  Lines longer than
 * CONF_LINE_MAX are an error. */
#define CONF_LINE_MAX 1024
typedef int conf_line_cb(void *ctx, unsigned lineno, const char *key, const char *val,
                         char *err, size_t errsz);
struct conf_parser {
	char line[CONF_LINE_MAX + 1];
	size_t len;
	unsigned lineno;
	int overlong;
	conf_line_cb *cb;
	void *ctx;
};
void conf_parser_init(struct conf_parser *p, conf_line_cb *cb, void *ctx);
/* Feed n bytes.  0, or -1 with "line N: reason" in err (parsing stops). */
int conf_parser_feed(struct conf_parser *p, const char *buf, size_t n, char *err, size_t errsz);
/* End of input (a last line without newline is parsed). */
int conf_parser_finish(struct conf_parser *p, char *err, size_t errsz);

/* Read and apply a config file.  0 or -1 + "FILE: line N: reason". */
int conf_load_file(struct opt *opts, size_t nopts, const char *path, char *err, size_t errsz);

/* Print a usage block for opts. */
void conf_usage(const struct opt *opts, size_t nopts, const char *synopsis);

/* Free OPT_STR values. */
void conf_free(struct opt *opts, size_t nopts);

#endif
