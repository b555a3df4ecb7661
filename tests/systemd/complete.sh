#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# complete.sh WORD...: what Tab offers for the command line WORD... (the last word is the one being
# completed), with bash-completion loading the command's completion on demand as it does on Tab.
# One candidate a line. Exit 3: no completion found for the command.
. /usr/share/bash-completion/bash_completion
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
__load_completion "$1" || exit 3
f=$(complete -p "$1" 2>/dev/null | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[ -n "$f" ] || exit 3
"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
