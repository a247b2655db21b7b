/* placeholder entry point, replaced by the command dispatcher */
int main(void) { return 0; }
