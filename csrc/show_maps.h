/* Print this process's own address map (/proc/self/maps), for the evidence boxes. */
#ifndef SHOW_MAPS_H
#define SHOW_MAPS_H
void show_maps(void);
#endif
