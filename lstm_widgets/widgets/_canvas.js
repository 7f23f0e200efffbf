// FigureCanvas front end (anywidget ESM): shows the figure's PNG at its CSS size, reports the
// width it is given and the screen's pixel ratio, and sends pointer positions for a readout.

/** Milliseconds a size must hold still before it is reported (a drag resizes many times). */
const RESIZE_DEBOUNCE_MS = 120;
/** Milliseconds after which an unanswered hover message no longer holds the next one back. */
const HOVER_TIMEOUT_MS = 1000;
/** CSS pixels between the pointer and the readout. */
const TIP_OFFSET = 14;

/** Width in pixels from a PNG's IHDR chunk (bytes 16..19, big-endian); 0 if not a PNG. */
function pngWidth(data) {
  const bytes = data instanceof ArrayBuffer ? new DataView(data) : data;
  if (!bytes || bytes.byteLength < 24 || bytes.getUint32(12) !== 0x49484452) return 0; // "IHDR"
  return bytes.getUint32(16);
}

function render({ model, el }) {
  el.classList.add("lw-canvas");
  const img = document.createElement("img");
  img.className = "lw-canvas-image widget-image";
  img.alt = "";
  img.draggable = false;
  const tip = document.createElement("div");
  tip.className = "lw-canvas-readout";
  tip.hidden = true;
  el.append(img, tip);

  // --- the picture: a blob URL set at once (the browser decodes it once, off the main
  // thread, and keeps showing the old picture until the new one is ready); its CSS width
  // comes from the PNG header, so the size never flickers. Python hears when it is shown.
  let url = null;
  let shown = 0;
  function showImage() {
    const token = ++shown;
    const data = model.get("value");
    if (!data || data.byteLength === 0) {
      img.removeAttribute("src");
      return;
    }
    const next = URL.createObjectURL(new Blob([data], { type: "image/png" }));
    const ratio = model.get("image_ratio") || 1;
    const width = pngWidth(data);
    img.style.width = width ? `${width / ratio}px` : "";
    img.dataset.ratio = String(ratio); // device pixels per CSS pixel the PNG was drawn for
    img.src = next;
    const before = url;
    url = next;
    const told = () => {
      if (before) URL.revokeObjectURL(before); // the old picture is no longer on show
      // Python sends what it held back (typeset text) once the picture is painted.
      if (token === shown) model.send({ type: "shown" });
    };
    // After the frame that paints it (a timeout set in an animation frame runs after paint).
    const afterPaint = () => requestAnimationFrame(() => setTimeout(told, 0));
    img.decode().then(afterPaint, afterPaint); // an undecodable PNG shows the broken-image box
  }

  // --- the size: integer CSS width of the box and devicePixelRatio, debounced.
  let sent = [0, 0];
  let timer = null;
  function reportSize() {
    timer = null;
    const width = Math.floor(el.clientWidth);
    if (width <= 0) return; // hidden (a closed tab, display: none): keep the last size
    const ratio = Math.round((window.devicePixelRatio || 1) * 100) / 100;
    if (width === sent[0] && ratio === sent[1]) return;
    sent = [width, ratio];
    model.set("display_width", width);
    model.set("pixel_ratio", ratio);
    model.save_changes();
  }
  function scheduleSize() {
    clearTimeout(timer);
    timer = setTimeout(reportSize, RESIZE_DEBOUNCE_MS);
  }
  const observer = new ResizeObserver(scheduleSize);
  observer.observe(el);
  // devicePixelRatio changes (zoom, a window moved to another screen) fire no resize of
  // their own on every browser: watch a media query for the current ratio, re-armed each time.
  let media = null;
  function watchRatio() {
    if (media) media.removeEventListener("change", onRatio);
    media = window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
    media.addEventListener("change", onRatio);
  }
  function onRatio() {
    watchRatio();
    scheduleSize();
  }
  watchRatio();

  // --- the readout: one message per animation frame and at most one unanswered, always
  // the latest position (older ones are dropped); Python answers with `readout`.
  let pending = null;
  let frame = 0;
  let inside = false;
  let seq = Math.floor(Math.random() * 1e9);
  let waiting = 0; // seq of the unanswered message, 0 when none
  let sentAt = 0;

  function imagePoint(cx, cy) {
    const rect = img.getBoundingClientRect();
    if (!img.naturalWidth || rect.width <= 0 || rect.height <= 0) return null;
    const fx = (cx - rect.left) / rect.width;
    const fy = (cy - rect.top) / rect.height;
    if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return null;
    return {
      x: fx * img.naturalWidth,
      y: fy * img.naturalHeight,
      width: img.naturalWidth,
      height: img.naturalHeight,
    };
  }
  function flush() {
    frame = 0;
    if (!pending || !inside) return;
    if (waiting && performance.now() - sentAt < HOVER_TIMEOUT_MS) return; // the answer re-arms
    seq += 1;
    waiting = seq;
    sentAt = performance.now();
    model.send({ type: "hover", seq, ...pending });
    pending = null;
  }
  function placeTip(cx, cy) {
    const box = el.getBoundingClientRect();
    let left = cx - box.left + TIP_OFFSET;
    let top = cy - box.top + TIP_OFFSET;
    if (left + tip.offsetWidth > el.clientWidth) left = Math.max(0, left - tip.offsetWidth - 2 * TIP_OFFSET);
    if (top + tip.offsetHeight > el.clientHeight) top = Math.max(0, top - tip.offsetHeight - 2 * TIP_OFFSET);
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  }
  let last = null;
  function showTip() {
    const text = model.get("readout");
    tip.textContent = text;
    tip.hidden = !(inside && text);
    if (!tip.hidden && last) placeTip(last.cx, last.cy);
  }
  function leave() {
    if (!inside) return;
    inside = false;
    pending = null;
    tip.hidden = true;
    model.send({ type: "leave" });
  }
  function onMove(event) {
    const point = imagePoint(event.clientX, event.clientY);
    if (!point) {
      leave();
      return;
    }
    inside = true;
    pending = point;
    last = { cx: event.clientX, cy: event.clientY };
    if (!tip.hidden) placeTip(last.cx, last.cy);
    if (!frame) frame = requestAnimationFrame(flush);
  }
  function onAnswer() {
    if (model.get("_hover_ack") !== waiting) return;
    waiting = 0;
    showTip();
    if (pending && !frame) frame = requestAnimationFrame(flush);
  }

  el.addEventListener("pointermove", onMove);
  el.addEventListener("pointerleave", leave);
  model.on("change:value", showImage);
  model.on("change:readout", showTip);
  model.on("change:_hover_ack", onAnswer);
  showImage();
  scheduleSize();

  return () => {
    observer.disconnect();
    if (media) media.removeEventListener("change", onRatio);
    clearTimeout(timer);
    if (frame) cancelAnimationFrame(frame);
    el.removeEventListener("pointermove", onMove);
    el.removeEventListener("pointerleave", leave);
    model.off("change:value", showImage);
    model.off("change:readout", showTip);
    model.off("change:_hover_ack", onAnswer);
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };
