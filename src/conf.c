/* conf — see conf.h. */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static struct opt *find_long(struct opt *opts, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static struct opt *find_short(struct opt *opts, size_t n, int c)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].short_flag == c)
			return &opts[i];
	return NULL;
}

/* Store val into o.  from_file: the value comes from the config file. */
static int opt_store(struct opt *o, const char *val, int from_file, char *err, size_t errsz)
{
	uint64_t u;
	double d;
	switch (o->type) {
	case OPT_STR:
		if (!*val) {
			snprintf(err, errsz, "%s: empty value", o->name);
			return -1;
		}
		free(*(char **)o->dst);
		*(char **)o->dst = xstrdup(val);
		return 0;
	case OPT_U64:
		if (parse_u64(val, (uint64_t)o->min, (uint64_t)o->max, &u)) {
			snprintf(err, errsz, "%s: '%s' is not a whole number from %.0f to %.0f",
			         o->name, val, o->min, o->max);
			return -1;
		}
		*(uint64_t *)o->dst = u;
		return 0;
	case OPT_DBL:
		if (parse_double(val, o->min, o->max, &d)) {
			snprintf(err, errsz, "%s: '%s' is not a number from %g to %g",
			         o->name, val, o->min, o->max);
			return -1;
		}
		*(double *)o->dst = d;
		return 0;
	case OPT_FLAG:
		if (!from_file || !strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1")) {
			*(int *)o->dst = 1;
			return 0;
		}
		if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0")) {
			*(int *)o->dst = 0;
			return 0;
		}
		snprintf(err, errsz, "%s: '%s' is not yes or no", o->name, val);
		return -1;
	case OPT_COUNT:
		if (!from_file) {
			(*(int *)o->dst)++;
			return 0;
		}
		if (parse_u64(val, 0, 9, &u)) {
			snprintf(err, errsz, "%s: '%s' is not a number from 0 to 9", o->name, val);
			return -1;
		}
		*(int *)o->dst = (int)u;
		return 0;
	}
	return -1;
}

static int takes_arg(const struct opt *o)
{
	return o->type != OPT_FLAG && o->type != OPT_COUNT;
}

int conf_parse_argv(struct opt *opts, size_t nopts, int argc, char **argv,
                    char **pos, int maxpos, int *npos, char *err, size_t errsz)
{
	int only_pos = 0;
	if (npos)
		*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		struct opt *o;
		const char *val = NULL;
		char shown[64];

		if (only_pos || a[0] != '-' || a[1] == 0) {
			if (!npos || *npos >= maxpos) {
				snprintf(err, errsz, "unexpected argument '%s'", a);
				return -1;
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = find_long(opts, nopts, a + 2, len);
			snprintf(shown, sizeof(shown), "--%.*s", (int)len, a + 2);
			if (!o) {
				snprintf(err, errsz, "unknown option '%s'", shown);
				return -1;
			}
			if (eq) {
				if (!takes_arg(o)) {
					snprintf(err, errsz, "option '%s' takes no value", shown);
					return -1;
				}
				val = eq + 1;
			}
		} else {
			o = find_short(opts, nopts, (unsigned char)a[1]);
			snprintf(shown, sizeof(shown), "-%c", a[1]);
			if (!o) {
				snprintf(err, errsz, "unknown option '%s'", shown);
				return -1;
			}
			if (a[2]) {
				if (takes_arg(o)) {
					val = a + 2;
				} else {
					/* Bundled flags: -dvv */
					for (const char *c = a + 1; *c; c++) {
						struct opt *f = find_short(opts, nopts, (unsigned char)*c);
						if (!f || takes_arg(f)) {
							snprintf(err, errsz, "unknown or misplaced option '-%c' in '%s'", *c, a);
							return -1;
						}
						opt_store(f, "", 0, err, errsz);
						f->cli_set = 1;
					}
					continue;
				}
			}
		}
		if (takes_arg(o) && !val) {
			if (i + 1 >= argc) {
				snprintf(err, errsz, "option '%s' needs a value (%s)", shown,
				         o->arg ? o->arg : "argument");
				return -1;
			}
			val = argv[++i];
		}
		if (opt_store(o, val ? val : "", 0, err, errsz))
			return -1;
		o->cli_set = 1;
	}
	return 0;
}

int conf_set(struct opt *opts, size_t nopts, const char *key, const char *val,
             char *err, size_t errsz)
{
	struct opt *o = find_long(opts, nopts, key, strlen(key));
	if (!o) {
		snprintf(err, errsz, "unknown key '%s'", key);
		return -1;
	}
	/* Options about the reading of the file itself, not settings. */
	if (!strcmp(key, "config") || !strcmp(key, "check-config")) {
		snprintf(err, errsz, "key '%s' is not allowed inside a config file", key);
		return -1;
	}
	if (o->cli_set)
		return 0;
	return opt_store(o, val, 1, err, errsz);
}

void conf_parser_init(struct conf_parser *p, conf_line_cb *cb, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->ctx = ctx;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static int parse_line(struct conf_parser *p, char *err, size_t errsz)
{
	char why[CONF_ERR_MAX];
	char *s, *eq, *key, *val;

	p->lineno++;
	if (p->overlong) {
		snprintf(err, errsz, "line %u: longer than %d bytes", p->lineno, CONF_LINE_MAX);
		return -1;
	}
	p->line[p->len] = 0;
	if (memchr(p->line, 0, p->len)) {
		snprintf(err, errsz, "line %u: contains a NUL byte", p->lineno);
		return -1;
	}
	s = trim(p->line);
	if (*s == 0 || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(err, errsz, "line %u: expected 'key = value'", p->lineno);
		return -1;
	}
	*eq = 0;
	key = trim(s);
	val = trim(eq + 1);
	if (*key == 0) {
		snprintf(err, errsz, "line %u: missing key before '='", p->lineno);
		return -1;
	}
	for (char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
			snprintf(err, errsz, "line %u: bad key '%.40s'", p->lineno, key);
			return -1;
		}
	if (*val == '"') {
		/* No escapes: the value ends at the next quote; only white space
		 * or a comment may follow it. */
		char *close = strchr(val + 1, '"');
		if (!close) {
			snprintf(err, errsz, "line %u: unterminated quoted value", p->lineno);
			return -1;
		}
		char *rest = trim(close + 1);
		if (*rest && *rest != '#') {
			snprintf(err, errsz, "line %u: unexpected text after the quoted value", p->lineno);
			return -1;
		}
		*close = 0;
		val++;
	} else {
		/* A comment may follow an unquoted value. */
		char *hash = strchr(val, '#');
		if (hash) {
			*hash = 0;
			val = trim(val);
		}
	}
	if (p->cb(p->ctx, p->lineno, key, val, why, sizeof(why))) {
		snprintf(err, errsz, "line %u: %s", p->lineno, why);
		return -1;
	}
	return 0;
}

int conf_parser_feed(struct conf_parser *p, const char *buf, size_t n, char *err, size_t errsz)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			int rc = parse_line(p, err, errsz);
			p->len = 0;
			p->overlong = 0;
			if (rc)
				return -1;
		} else if (p->len < CONF_LINE_MAX) {
			p->line[p->len++] = buf[i];
		} else {
			p->overlong = 1;
		}
	}
	return 0;
}

int conf_parser_finish(struct conf_parser *p, char *err, size_t errsz)
{
	if (p->len == 0 && !p->overlong)
		return 0;
	int rc = parse_line(p, err, errsz);
	p->len = 0;
	p->overlong = 0;
	return rc;
}

struct opts_ctx {
	struct opt *opts;
	size_t n;
};

static int apply_cb(void *ctx, unsigned lineno, const char *key, const char *val,
                    char *err, size_t errsz)
{
	struct opts_ctx *c = ctx;
	(void)lineno;
	return conf_set(c->opts, c->n, key, val, err, errsz);
}

int conf_load_file(struct opt *opts, size_t nopts, const char *path, char *err, size_t errsz)
{
	struct opts_ctx c = { opts, nopts };
	struct conf_parser p;
	char buf[4096], why[CONF_ERR_MAX];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	conf_parser_init(&p, apply_cb, &c);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (conf_parser_feed(&p, buf, (size_t)n, why, sizeof(why))) {
			snprintf(err, errsz, "%s: %s", path, why);
			close(fd);
			return -1;
		}
	}
	if (n < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (conf_parser_finish(&p, why, sizeof(why))) {
		snprintf(err, errsz, "%s: %s", path, why);
		return -1;
	}
	return 0;
}

void conf_usage(const struct opt *opts, size_t nopts, const char *synopsis)
{
	printf("usage: %s\n\noptions:\n", synopsis);
	for (size_t i = 0; i < nopts; i++) {
		char left[64];
		const struct opt *o = &opts[i];
		if (o->short_flag)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_flag, o->name,
			         o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
			         o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-34s %s\n", left, o->help);
	}
	printf("  %-34s %s\n", "-h, --help", "show this help");
}

void conf_free(struct opt *opts, size_t nopts)
{
	for (size_t i = 0; i < nopts; i++)
		if (opts[i].type == OPT_STR) {
			free(*(char **)opts[i].dst);
			*(char **)opts[i].dst = NULL;
		}
}
