import sharp from 'sharp';

// A Lambda execution environment handles one event at a time and each event brings a different image, so libvips'
// operation cache (by default up to 50 MB and 100 operations) would only hold memory that no later call reuses.
sharp.cache(false);

// One libvips worker thread per image. sharp 0.35 already defaults to 1 on glibc Linux without jemalloc, such as
// Lambda's Amazon Linux runtimes, to limit heap fragmentation in a long-lived process. Setting it here keeps that if
// the package or runtime changes, and after shrink-on-load little pixel work is left to share between threads.
sharp.concurrency(1);

/** sharp, configured for Lambda. Import it from here so that the settings above apply before the first image. */
export { sharp };
