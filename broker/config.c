/* config: the broker's config table; its rows are data, config.def. */
#include <stddef.h>

#include "config.h"

#define CONF_STRUCT	struct broker_cfg
#define NR CONF_NO_RELOAD

const struct conf_entry broker_conf_table[] = {
#include "config.def"
	CONF_END
};
