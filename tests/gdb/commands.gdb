set pagination off
set confirm off
set width 0
break callee_call
break callee_bound
break callee_direct
break callee_page
break in_handler
run
bt
continue
bt
continue
bt
continue
bt
continue
bt
continue
bt
continue
