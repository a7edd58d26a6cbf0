// The verifier page (certs/verify.html): read a QR with the camera where the browser can.
(function () {
  var button = document.getElementById("scan"), message = document.getElementById("scan-message");
  var box = document.getElementById("camera"), video = document.getElementById("video");
  button.addEventListener("click", async function () {
    if (!("BarcodeDetector" in window) || !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
      message.textContent = "此浏览器不支持摄像头扫码：请用手机相机或扫码应用读取二维码，再把文字粘贴到下面。 " +
        "This browser cannot scan codes: read the QR with your phone's camera or a scanner app and paste the text below.";
      document.getElementById("paste").open = true;
      return;
    }
    var detector;
    try { detector = new BarcodeDetector({formats: ["qr_code"]}); }
    catch (e) { message.textContent = "无法启动扫码 / cannot start the scanner: " + e; return; }
    var stream;
    try { stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}); }
    catch (e) {
      message.textContent = "无法使用摄像头（请允许访问）/ camera not available (allow access): " + e;
      document.getElementById("paste").open = true;
      return;
    }
    video.srcObject = stream; box.hidden = false; await video.play();
    message.textContent = "请将二维码对准摄像头… / point the camera at the QR code…";
    var done = false;
    async function tick() {
      if (done) return;
      try {
        var codes = await detector.detect(video);
        var hit = codes.find(function (c) { return (c.rawValue || "").indexOf("HC1:") === 0; }) || codes[0];
        if (hit) {
          done = true; stream.getTracks().forEach(function (t) { t.stop(); });
          document.getElementById("hc1").value = hit.rawValue;
          document.getElementById("verify-form").submit();
          return;
        }
      } catch (e) { /* frame not ready */ }
      requestAnimationFrame(tick);
    }
    tick();
  });
})();
