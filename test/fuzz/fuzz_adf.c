/* fuzz_adf: Atlassian Document Format and Confluence storage HTML, as an
 * upstream could send them, converted to plain text for the model. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "adf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	*doc;
	char	*text, *html;

	if ((doc = json_loadb((const char *)data, size, 0, NULL)) != NULL) {
		free(adf_to_text(doc));
		json_decref(doc);
	}
	if ((html = malloc(size + 1)) == NULL)
		return 0;
	memcpy(html, data, size);
	html[size] = '\0';
	free(adf_storage_to_text(html));
	if ((doc = adf_from_text(html)) != NULL) {
		if ((text = adf_to_text(doc)) == NULL)
			abort();
		free(text);
		json_decref(doc);
	}
	free(html);
	return 0;
}
